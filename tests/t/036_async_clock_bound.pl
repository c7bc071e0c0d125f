# Asynchronous failover and the clocks (issue 20, item 5): when is a promoted
# standby safe by its clock alone, without the replayed floor or a margin?
#
# The old primary's last reservation is at most 1.5 s past the later of its
# clock and its newest ID, and its newest ID can run ahead of its clock (by
# up to snowflake.max_clock_drift) after its clock was set back. So a new
# primary's clock must be past the old primary's clock at the crash plus that
# lead plus 1.5 s, not merely 1.5 s past the old primary's clock, which an
# earlier README claimed.
#
# The case: the old primary (node 6) runs with its clock 8 s fast, its two
# asynchronous standbys (node 6 too, true clocks, snowflake.promotion_margin
# = 0) are cut off, it issues 4 s more, its clock is corrected (set back 8 s:
# its IDs now lead its clock by about 8 s), and it is killed with kill -9.
#   A. promoted 2 s after the crash: its clock is more than 1.5 s past the
#      old primary's (the old claim: safe), yet its first ID is below the old
#      primary's last one;
#   B. promoted once its clock is past the old primary's newest ID plus
#      1.5 s (the bound that holds): every new ID is above every old one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

use constant EPOCH_UNIX_MS => 1_704_067_200_000;

my $primary = PostgreSQL::Test::Cluster->new('clock_bound_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 6\n"
	  . "snowflake.max_clock_drift = 30s\n");
my $clock_file = $primary->basedir . '/faketime';
write_clock_file($clock_file, '+8');
start_node($primary, clock_file => $clock_file);
cmp_ok(wait_server_clock_offset($primary, 8), '>', 6, 'the primary\'s clock is 8 s fast');
$primary->safe_psql('postgres', 'CREATE EXTENSION snowflake');
$primary->safe_psql('postgres',
	'CREATE TABLE items (id bigint PRIMARY KEY DEFAULT snowflake_next_id())');
$primary->backup('b');

# Two standbys with true clocks and the primary's node id. The floor they
# start from is 8 s ahead of their clocks: allow the lead.
my @standbys;
for my $name (qw(a b))
{
	my $standby = PostgreSQL::Test::Cluster->new("clock_bound_standby_$name");
	$standby->init_from_backup($primary, 'b', has_streaming => 1);
	$standby->append_conf('postgresql.conf',
		"snowflake.node_id = 6\nsnowflake.promotion_margin = 0\n"
		  . "snowflake.max_clock_drift = 30s\n");
	start_node($standby);
	push @standbys, $standby;
}
my ($standby_a, $standby_b) = @standbys;

my $client = start_client($primary, 'inserts',
	'INSERT INTO items DEFAULT VALUES RETURNING id;', 400_000);
sleep 1;
$primary->wait_for_catchup($_) for @standbys;

# Cut replication: each walreceiver reconnects to a port nobody serves.
for my $standby (@standbys)
{
	$standby->safe_psql('postgres',
		"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 connect_timeout=1'");
	$standby->reload;
}
$primary->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_stat_replication')
  or die 'replication was not cut';
my $replayed = read_state_file($standby_a)->{reserved_until_ms};
sleep 4;

# The correction: the primary's clock is set back 8 s, to the true time.
write_clock_file($clock_file, '+0');
cmp_ok(abs(wait_server_clock_offset($primary, 0)), '<', 2,
	'the primary\'s clock was set back to the true time');
# The lead shrinks as the corrected clock runs on: measured, it must still be
# most of the 8 s.
my $lead_ms = snowflake_status($primary)->{clock_drift_ms};
cmp_ok($lead_ms, '>', 4000,
	"the old primary's IDs run ahead of its corrected clock (by $lead_ms ms)");
my $old_clock_at_crash = $primary->safe_psql('postgres',
	'SELECT extract(epoch FROM clock_timestamp())');
kill9_postmaster($primary);
my @old = finish_client($client);
my $old_last = max_of(@old);
my $old_reserved = read_state_file($primary)->{reserved_until_ms};
cmp_ok(id_ms($old_last), '>', $replayed,
	'the old primary issued IDs past the reservation its standbys replayed');
cmp_ok($old_reserved, '<=', id_ms($old_last) + 1500,
	'its last reservation is within 1.5 s of its newest ID (which leads its clock)');

sub promote
{
	my ($standby) = @_;
	$standby->promote;
	$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die 'promotion did not finish';
	return;
}

# A. Promoted 2 s after the crash, by the clock it is safe by the old claim.
sleep 2;
my $a_clock = $standby_a->safe_psql('postgres', 'SELECT extract(epoch FROM clock_timestamp())');
cmp_ok($a_clock, '>', $old_clock_at_crash + 1.5,
	'A: the new primary\'s clock at promotion is more than 1.5 s past the old primary\'s '
	  . 'clock at the crash (the old claim\'s condition)');
promote($standby_a);
my @a_ids = next_ids($standby_a, 1000);
cmp_ok(min_of(@a_ids), '<', $old_last,
	sprintf('A: yet its first ID is %d ms below the old primary\'s last: the lead counts',
		id_ms($old_last) - id_ms(min_of(@a_ids))));
$standby_a->stop;

# B. Promoted once its clock is past the old primary's newest ID + 1.5 s.
my $safe_after = (id_ms($old_last) + 1500 + EPOCH_UNIX_MS) / 1000;
$standby_b->poll_query_until('postgres',
	"SELECT extract(epoch FROM clock_timestamp()) > $safe_after")
  or die 'the clock did not pass the bound';
promote($standby_b);
my @b_ids = next_ids($standby_b, 1000);
cmp_ok(min_of(@b_ids), '>', $old_last,
	'B: promoted with its clock past the old primary\'s newest ID + 1.5 s, every new ID is '
	  . 'above every old one');
$standby_b->stop;

done_testing();
