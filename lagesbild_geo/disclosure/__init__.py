"""Disclosure control: what makes a figure safe to publish, and the attacker's audit of it.

Pure computation on arrays (numpy/scipy), like ``stats``: the cell key method's perturbation
table (:mod:`.ptable`), the record keys (:mod:`.keys`), the protection of counts, shares and
breakdowns (:mod:`.protect`), the feasible intervals an attacker can solve for
(:mod:`.lp`, HiGHS through scipy) and the table protection the ``k-anonymity`` process runs
(:mod:`.table`). ``publish`` applies it to the restricted store; ``docs/disclosure.md`` says
why this method and what it guarantees.
"""
