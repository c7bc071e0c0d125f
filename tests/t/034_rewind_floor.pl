# A rewound old primary keeps its own floor (issue 20, item 1).
#
# pg_rewind makes the target a copy of the source: it replaces
# pg_snowflake/state with the source's file and drops the target's WAL after
# the divergence, so neither holds the old primary's reservations made after
# replication was cut. The old primary keeps them in
# pg_snowflake/own_floor.PG_VERSION, the one file of pg_snowflake/ that
# pg_rewind leaves as it is (src/pg/own_floor.h says why).
#
# The sequence of the issue, without etcd: A (node 7) with its clock 60 s
# fast, so its IDs run 60 s ahead of the true time; B (node 8) an
# asynchronous standby with a true clock. Replication is cut, A issues IDs
# for 15 s more and is killed with kill -9; B is promoted, issues IDs and is
# stopped; A is rewound from B with its clock corrected, rejoins as a standby
# and is promoted back with the default margin (3 s). A's first new node-7
# ID must be above every node-7 ID it issued before it died: before the fix
# it started at B's floor (A's reservation at the cut, plus the margin and
# B's own window) plus the margin again, about 7.6 s below A's last IDs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

use constant EPOCH_UNIX_MS => 1704067200000;

# The true time in layout milliseconds (the test's clock is not shifted).
sub true_ms { return int(time() * 1000) - EPOCH_UNIX_MS }

# max_clock_drift 120 s: the IDs of this test run 60 s ahead of a true clock
# after the correction, and they must still be issued to be compared.
# wal_keep_size: the end-of-recovery checkpoint of the crash recovery that
# pg_rewind runs must not recycle the WAL before the divergence it reads.
my $conf = "wal_log_hints = on\nwal_keep_size = '256MB'\nsnowflake.max_clock_drift = '120s'\n";

my $a = PostgreSQL::Test::Cluster->new('rewind_a');
$a->init(allows_streaming => 1);
$a->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 7\n$conf");
start_node($a, clock => '+60');
$a->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @a_ids = next_ids($a, 1000);
$a->backup('b');

my $b = PostgreSQL::Test::Cluster->new('rewind_b');
$b->init_from_backup($a, 'b', has_streaming => 1);
$b->append_conf('postgresql.conf', "snowflake.node_id = 8\n");
start_node($b);
push @a_ids, next_ids($a, 1000);
$a->wait_for_catchup($b);

# The fault is real: A's clock, and so its IDs, run 60 s ahead of the true
# time, and B's clock does not.
my $a_offset = wait_server_clock_offset($a, 60);
cmp_ok($a_offset, '>', 55, sprintf('A\'s clock is 60 s fast (%.1f s)', $a_offset));
cmp_ok(abs(server_clock_offset($b)), '<', 3, 'B\'s clock is true');
cmp_ok(id_ms(max_of(@a_ids)) - true_ms(), '>', 50_000,
	'A\'s IDs run more than 50 s ahead of the true time');
is(read_state_file($b)->{node_id}, 7, 'B replays A\'s reservations');

# Replication is cut: B's walreceiver reconnects to a port nobody serves.
$b->safe_psql('postgres',
	"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 connect_timeout=1'");
$b->reload;
$a->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_stat_replication')
  or die 'replication was not cut';
my $replayed = read_state_file($b)->{reserved_until_ms};

# A goes on alone for 15 s, then dies.
my $t0 = time();
while (time() - $t0 < 15)
{
	push @a_ids, next_ids($a, 2000);
	sleep 0.2;
}
my $a_max = max_of(@a_ids);
# B starts 3 s (the margin) past what it replayed and reserves a little
# past its first IDs; A, rewound, starts another 3 s past that.
cmp_ok(id_ms($a_max) - $replayed, '>', 10_000,
	'A issued IDs more than 10 s past the reservation B replayed (more than twice the margin)');
kill9_postmaster($a);

# B takes over, issues IDs of its own, and stops.
$b->promote;
$b->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'promotion of B did not finish';
my @b_ids = next_ids($b, 1000);
is($b->safe_psql('postgres', "SELECT snowflake_node_id($b_ids[0])"), '8', 'B issues as node 8');
$b->stop;

# A is rewound from B (after the crash recovery pg_rewind runs itself), with
# its clock corrected, and rejoins as B's standby. pg_rewind copies B's
# configuration, so A's port and node id are set again.
command_ok(
	[ 'pg_rewind', '--target-pgdata', $a->data_dir, '--source-pgdata', $b->data_dir ],
	'pg_rewind of A from B');
is(read_state_file($a)->{node_id}, 8, 'pg_rewind replaced A\'s state file with B\'s');
is((read_state_file($b, own_floor_file($b)) // {})->{node_id},
	8, 'B has an own-floor file, of node 8');
my $own = read_state_file($a, own_floor_file($a)) // {};
is($own->{node_id}, 7, 'pg_rewind left A\'s own-floor file as it was: node 7');
cmp_ok($own->{reserved_until_ms} // -1, '>=', id_ms($a_max), 'covering every ID A issued');
$a->append_conf('postgresql.conf', 'port = ' . $a->port . "\nsnowflake.node_id = 7\n");
$a->enable_streaming($b);
my $log_offset = log_size($a);
start_node($a);
$a->promote;
$a->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'promotion of A did not finish';

my @new = next_ids($a, 1000);
is($a->safe_psql('postgres', "SELECT snowflake_node_id($new[0])"), '7', 'A issues as node 7 again');
note sprintf('A\'s first new ID is %d ms after its last ID before the crash',
	id_ms(min_of(@new)) - id_ms($a_max));
cmp_ok(min_of(@new), '>', $a_max,
	'after the rewind, A\'s first new node-7 ID is above every node-7 ID it issued before');
ok(count_in_log($a, qr/own floor/, $log_offset), 'the server log says the own floor was used');
my %seen;
is(scalar(grep { $seen{$_}++ } @a_ids, @b_ids, @new), 0, 'no ID was returned twice');
$a->stop;

done_testing();
