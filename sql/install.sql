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

-- Nothing is granted to PUBLIC but acting_tenants(), which the row-level
-- security policies call as the querying role.
SELECT count(*) AS public_table_grants
  FROM information_schema.role_table_grants
 WHERE table_schema = 'aigov' AND grantee = 'PUBLIC';
SELECT p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'aigov' AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

-- No function of the SQL API is SECURITY DEFINER: they check the calling
-- role, then switch to the owner themselves.
SELECT p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'aigov' AND p.prosecdef
 ORDER BY 1;

-- The admin role exists, cannot log in and holds no privilege.
SELECT rolname, rolcanlogin, rolsuper, rolcreaterole
  FROM pg_roles WHERE rolname = 'aigov_admin';
SELECT count(*) AS admin_grants
  FROM information_schema.role_table_grants WHERE grantee = 'aigov_admin';

-- Row-level security guards the tables that hold tenants' rows.
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
	   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'aigov' AND c.relkind = 'r' AND c.relrowsecurity
 ORDER BY c.relname;

-- A schema that already exists makes the install fail rather than adopt it.
DROP EXTENSION aigov;
CREATE SCHEMA aigov;
CREATE EXTENSION aigov;
DROP SCHEMA aigov;
-- DROP EXTENSION leaves the admin role, and the next install uses it.
SELECT count(*) AS admin_role_left FROM pg_roles WHERE rolname = 'aigov_admin';
CREATE EXTENSION aigov;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'aigov';
