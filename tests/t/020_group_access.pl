# The state directory and file follow the cluster's group-access setting
# (issue 8, item 9). A cluster made with initdb -g has directories 0750 and
# files 0640 (PostgreSQL's pg_dir_create_mode / pg_file_create_mode), so a
# backup tool running as a member of the server's group can read everything;
# pg_snowflake/ and its state file must be no exception. Without -g both
# stay owner-only (0700 / 0600).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

sub mode_of
{
	my ($path) = @_;
	my @st = stat($path) or return 'missing';
	return sprintf('%04o', $st[2] & 07777);
}

for my $case ([ 'group', ['-g'], '0750', '0640' ], [ 'owner', [], '0700', '0600' ])
{
	my ($label, $initdb, $dir_mode, $file_mode) = @$case;
	my $node = PostgreSQL::Test::Cluster->new("access_$label");
	$node->init(extra => $initdb);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 10\n");
	my $data = $node->data_dir;
	is(mode_of("$data/global"), $dir_mode, "$label: the cluster's own directories are $dir_mode");
	start_node($node);
	$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');

	# The first start creates the directory and the file.
	is(mode_of("$data/pg_snowflake"), $dir_mode, "$label: pg_snowflake/ is $dir_mode");
	is(mode_of("$data/pg_snowflake/state"), $file_mode,
		"$label: the state file written at the first start is $file_mode");
	is(mode_of("$data/pg_snowflake/own_floor.PG_VERSION"), $file_mode,
		"$label: so is the own-floor file");

	# A renewal writes state.tmp and renames it over the file.
	my $writes = snowflake_status($node)->{reservation_writes};
	next_ids($node, 100);
	cmp_ok(snowflake_status($node)->{reservation_writes}, '>', $writes,
		"$label: a reservation was written");
	is(mode_of("$data/pg_snowflake/state"), $file_mode,
		"$label: the state file written by a renewal is $file_mode");
	is(mode_of("$data/pg_snowflake/own_floor.PG_VERSION"), $file_mode,
		"$label: so is the own-floor file");
	$node->stop;
}

done_testing();
