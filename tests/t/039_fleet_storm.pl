# A start-up storm of a fleet (issue 17): 16 real PostgreSQL servers and 112
# simulated ones (bench/fleet/fleet_sim: each runs the reservation writer's
# own lease code, LeaseKeeper over NodeLease over CurlEtcdClient), all with
# snowflake.node_id unset, all started at once against a real three-member
# etcd cluster on loopback, under one prefix.
#
# Asserted: all 128 hold distinct node ids; the simulated servers sent at
# most 4 etcd requests each for their claims (the protocol of releases up
# to 1.3 sent 25 each at 64 servers and 102 at 256: every claim read the
# whole registry and raced for the lowest free id, so the cost grew with the
# fleet; fleet_sim fails above the bound); every ID the real servers and the
# simulated ones issued, merged, is distinct, and they carry 128 distinct
# node ids. make bench (section 11) runs the same storm at 64 to 1024.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use SnowflakeEtcd;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

for my $program (qw(etcd etcdctl g++ pkg-config))
{
	system("command -v $program >/dev/null 2>&1") == 0
	  or die "$program is not installed (scripts/install-deps.sh suite)";
}

my $real_servers = 16;
my $simulated = 112;
my $max_requests = 4;
my $ids_per_real_server = 2000;
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $src = "$FindBin::RealBin/../..";

# ---- the simulator: built by make test (SNOWFLAKE_FLEET_SIM), or here ----
my $sim = $ENV{SNOWFLAKE_FLEET_SIM} // '';
if (!-x $sim)
{
	$sim = "$tmp/fleet_sim";
	my $t0 = time();
	my @sources = (glob("$src/src/core/*.cpp"), "$src/bench/fleet/fleet_sim.cpp");
	my $flags = `pkg-config --cflags --libs libcurl nlohmann_json libcrypto`;
	chomp $flags;
	system("g++ -std=c++17 -O1 -fno-exceptions -I$src/src/core @sources $flags -lpthread -o $sim") == 0
	  or die 'could not build bench/fleet/fleet_sim';
	note(sprintf('fleet_sim built in %.0f s', time() - $t0));
}

my $etcd = SnowflakeEtcd->new($tmp, 3);
pass('a three-member etcd cluster is up');
my $prefix = '/fleet-storm';
my $coordination =
	"snowflake.etcd_endpoints = '"
  . $etcd->endpoints . "'\n"
  . "snowflake.etcd_prefix = '$prefix'\n"
  . "shared_buffers = 16MB\nmax_connections = 10\nmax_wal_senders = 0\n";
my @real = map { snowflake_node("storm_$_", -1, $coordination) } 1 .. $real_servers;

# ---- the storm ------------------------------------------------------------
# The simulated servers start at once and issue for 20 s; the real servers
# start as fast as pg_ctl allows meanwhile.
my $sim_ids = "$tmp/fleet_sim.ids";
my ($sim_out, $sim_err) = ('', '');
my $t0 = time();
my $run = IPC::Run::start(
	[
		$sim, '--servers', $simulated,
		'--endpoints', $etcd->endpoints,
		'--prefix', $prefix,
		'--max-requests-per-server', $max_requests,
		'--steady-s', 20,
		'--busy', 1,
		'--timeout-s', 120,
		'--ids-out', $sim_ids
	],
	'>', \$sim_out, '2>', \$sim_err);
start_node($_) for @real;
for my $node (@real)
{
	$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
}
my $all_ready = 1;
$all_ready &&= wait_snowflake_state($_, 'ready', 90) for @real;
ok($all_ready, "all $real_servers real servers hold a node id");
note(sprintf('the real servers were ready %.1f s after the storm began', time() - $t0));

# Each real server issues while the simulated ones do.
for my $node (@real)
{
	keep_ids($node->name, next_ids($node, $ids_per_real_server));
}
my %node_ids;
$node_ids{ node_id_of($_) }++ for @real;
is(scalar(keys %node_ids), $real_servers, 'the real servers hold distinct node ids');

IPC::Run::finish($run);
my $sim_rc = $? >> 8;
my %figure = map { split / / } grep { /^\w+ [-\d.]+$/ } split /\n/, $sim_out;
is($sim_rc, 0, 'fleet_sim passed its own checks') or diag("fleet_sim: $sim_err\n$sim_out");
cmp_ok($figure{storm_held} // -1, '==', $simulated, "all $simulated simulated servers hold a node id");
cmp_ok($figure{storm_all_held_s}, '>=', 0,
	sprintf('within %.1f s of the start', $figure{storm_all_held_s} // -1));
cmp_ok($figure{storm_requests_per_server}, '<=', $max_requests,
	sprintf('%.2f etcd requests per simulated server for the storm (at most %d)',
		$figure{storm_requests_per_server} // -1, $max_requests));

# ---- every ID, merged -----------------------------------------------------
open my $fh, '<', $sim_ids or die "$sim_ids: $!";
chomp(my @sim_ids = <$fh>);
close $fh;
cmp_ok(scalar(@sim_ids), '>', $simulated * 100, scalar(@sim_ids) . ' IDs from the simulated servers');
keep_ids('simulated', @sim_ids);
# Node id: bits 12-21 of an ID (the layout: time, node id, sequence).
$node_ids{ ($_ >> 12) & 1023 }++ for @sim_ids;
is(scalar(keys %node_ids), $real_servers + $simulated,
	'the IDs carry ' . ($real_servers + $simulated) . ' distinct node ids');
is(kept_duplicates(), 0,
	sprintf('%d IDs of real and simulated servers merged, no duplicates', kept_ids_count()));
is( $real[0]->safe_psql(
		'postgres', 'SELECT count(*) FROM snowflake_fleet() WHERE holder_port IS NOT NULL'),
	$real_servers,
	'snowflake_fleet() lists the real servers, the simulated ones gone (released)');

$_->stop for @real;
$etcd->stop;
done_testing();
