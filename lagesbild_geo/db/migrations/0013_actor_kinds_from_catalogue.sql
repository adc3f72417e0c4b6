-- Actor kinds come from the catalogue (lagesbild_geo/data/indicators.yml) only. 0001 wrote
-- the seven kinds of 2026 into a CHECK on lagesbild.indicator.owner_kind, so a kind added to
-- the catalogue was refused here until someone also wrote a migration. The kinds are data:
-- lagesbild.actor_kind holds them (store.catalogue.sync_catalogue copies them in before the
-- indicators, in one transaction), and actor.kind already refers to it. An indicator's owner
-- now refers to it too: `any` (the shared EST categories every kind may report) is no kind,
-- so the reference is made on owner_kind with `any` read as NULL.
ALTER TABLE lagesbild.indicator DROP CONSTRAINT indicator_owner_kind_check;
ALTER TABLE lagesbild.indicator
    ADD COLUMN owner_actor_kind text GENERATED ALWAYS AS (nullif(owner_kind, 'any')) STORED
        REFERENCES lagesbild.actor_kind (id);
