-- install: the extension installs, its library version matches the
-- control file, and the schema holds exactly the documented objects.
CREATE EXTENSION aigov;

SELECT extversion, extversion = aigov.version() AS library_matches
  FROM pg_extension WHERE extname = 'aigov';

SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'aigov' AND c.relkind IN ('r', 'v', 'S')
 ORDER BY c.relname;

SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'aigov'
 ORDER BY p.proname;

-- Nothing is granted to PUBLIC.
SELECT count(*) AS public_table_grants
  FROM information_schema.role_table_grants
 WHERE table_schema = 'aigov' AND grantee = 'PUBLIC';
SELECT p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'aigov' AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

-- A schema that already exists makes the install fail rather than adopt it.
DROP EXTENSION aigov;
CREATE SCHEMA aigov;
CREATE EXTENSION aigov;
DROP SCHEMA aigov;
CREATE EXTENSION aigov;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'aigov';
