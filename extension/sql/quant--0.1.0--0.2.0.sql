-- quant 0.1.0 -> 0.2.0 (ALTER EXTENSION quant UPDATE). Hand-written: the install script of 0.2.0
-- is generated from ../sql; this file makes a 0.1.0 database equal to it (test/upgrade/run.sh
-- compares the two object by object).
--
-- Each developer of the wave appends its own section at the end of this file:
--     -- ==== <branch>: <what> ====
-- with the SQL changes it made to sql/** (the same change, as ALTER / CREATE OR REPLACE / ...).
\echo Use "ALTER EXTENSION quant UPDATE" to load this file. \quit

-- ==== wp-a-layout: sql/ laid out by table family (no object changes) ====
