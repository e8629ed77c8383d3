"""The facts the bedside check reads, each read written twice.

`fast_sql` is what the bedside runs: hand-written SQL, one round trip per read, rows built into
model instances without the ORM's compiler. `reference` is the same reads written plainly in the
ORM on the one-definition helpers (standing_q and the counting querysets, the active band): what
each read means. A function in one has a twin of the same name, signature and return shape in the
other, and tests/scanning/test_facts_twins.py holds every pair equal over random wards, on SQLite
and on PostgreSQL. scanning.selectors turns what fast_sql reads into the rules' facts
(scanning/rules/facts.py)."""
