# The module's magic block (src/pg/pg_compat.h). From PostgreSQL 18 on it
# names the module and its version, which pg_get_loaded_modules() shows to
# DBAs; the version is default_version in snowflake.control, the same one
# CREATE EXTENSION installs. Before 18 the function does not exist.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $control = slurp_file("$FindBin::RealBin/../../snowflake.control");
my ($version) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
ok(defined $version, "snowflake.control has a default_version ($version)");

my $node = PostgreSQL::Test::Cluster->new('loaded_module');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 3\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
is( $node->safe_psql(
		'postgres', "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'"),
	$version,
	'CREATE EXTENSION installs default_version');

SKIP:
{
	skip 'pg_get_loaded_modules() is new in PostgreSQL 18', 1
	  if $node->pg_version < 18;
	is( $node->safe_psql(
			'postgres',
			"SELECT module_name || ' ' || version FROM pg_get_loaded_modules()
			 WHERE file_name = 'snowflake.so'"),
		"snowflake $version",
		'pg_get_loaded_modules() names snowflake and its version');
}

$node->stop;
done_testing();
