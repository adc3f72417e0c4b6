-- The actor's references of a cell's events as one text, separated by U+001F (the ASCII unit
-- separator, which validation refuses inside a reference), in event order; an event without a
-- reference leaves its place empty. As text[], each of a million references was one array
-- element to receive and check: ~0.2 s of the server's ~0.75 s for a million events
-- (268,902 cells), for a column only the actor's own look-ups read.
-- lagesbild.source_ref_list(source_refs) gives them back as an array.
ALTER TABLE lagesbild.observation
    ALTER COLUMN source_refs TYPE text USING array_to_string(source_refs, E'\x1f');

CREATE FUNCTION lagesbild.source_ref_list(source_refs text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN string_to_array(source_refs, E'\x1f');
