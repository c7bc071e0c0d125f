# The monitoring stack, for real (issue 19): Debian's postgres_exporter
# (prometheus-postgres-exporter) with monitoring/postgres_exporter/
# snowflake-queries.yaml, connected as a role that is only in pg_monitor,
# scraped over HTTP on loopback:
#   - every metric the query file declares is in /metrics with its type and
#     help text, and so is every snowflake_* series the alert rules
#     (monitoring/prometheus/snowflake-alerts.yml) use;
#   - the values are what snowflake_status() and snowflake_fleet() say in the
#     same test: node id, ready, the lease of a node id held in etcd, a
#     setting in seconds, counters that moved after IDs were issued;
#   - a condition change shows in the next scrape: etcd gone (fenced: ready 0,
#     state "etcd unavailable", a fence expiration counted), and a server
#     without a node id (ready 0, node id -1), whose scrape has no error
#     although it has no etcd (snowflake_fleet() is never called there).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use SnowflakeEtcd;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $exporter_bin = '/usr/bin/prometheus-postgres-exporter';
-x $exporter_bin
  or die "$exporter_bin is not installed (Debian package prometheus-postgres-exporter)";
my $root = "$FindBin::RealBin/../..";
my $queries = "$root/monitoring/postgres_exporter/snowflake-queries.yaml";
my $alerts = "$root/monitoring/prometheus/snowflake-alerts.yml";
my $role = 'snowflake_monitor';
my $http = HTTP::Tiny->new(timeout => 10);

# ---- the query file and the alert rules, read as text ---------------------
# A column `c` of namespace `ns` is the series ns_c; LABEL columns are labels.
my %declared;    # series name => counter|gauge
{
	my ($namespace, $column);
	for (split /\n/, slurp_file($queries))
	{
		if (/^(\w+):\s*$/) { $namespace = $1; next; }
		if (/^    - (\w+):\s*$/) { $column = $1; next; }
		$declared{"${namespace}_$column"} = lc $1
		  if /^        usage: "(\w+)"/ && $1 ne 'LABEL';
	}
}
ok(scalar(keys %declared) >= 20,
	'the query file declares ' . scalar(keys %declared) . ' metrics');
my %alerted;    # every series an alert rule's expression names
for (grep { /^\s+expr:/ } split /\n/, slurp_file($alerts))
{
	$alerted{$1} = 1 while /\b((?:snowflake|pg)_\w+)\b/g;
}
ok(scalar(keys %alerted) >= 8, 'the alert rules use ' . scalar(keys %alerted) . ' series');

# ---- the exporter -----------------------------------------------------------
# Every collector of its own off (0.11 has two; later releases more), the
# built-in metrics off: what is left is the query file and the exporter's
# own pg_up and pg_exporter_* series.
my $help = `$exporter_bin --help 2>&1`;
# (Collectors only: "--collector.NAME" then a space. Their own options,
# "--collector.stat_statements.limit=100" in 0.19, take no "no-".)
my %collectors = map { $_ => 1 } $help =~ /--(?:\[no-\])?collector\.(\w+)(?=\s)/g;
my @quiet = map { "--no-collector.$_" } sort keys %collectors;
push @quiet, grep { $help =~ /\Q$_\E/ } qw(--disable-default-metrics --disable-settings-metrics);

my @exporters;

sub start_exporter
{
	my ($node, $name) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $log = "$PostgreSQL::Test::Utils::tmp_check/exporter_$name.log";
	local $ENV{DATA_SOURCE_NAME} =
	  'host=' . $node->host . ' port=' . $node->port . " user=$role dbname=postgres sslmode=disable";
	my $handle = IPC::Run::start(
		[
			$exporter_bin, "--extend.query-path=$queries",
			"--web.listen-address=127.0.0.1:$port", @quiet
		],
		'>>', $log, '2>&1');
	my $exporter = {
		handle => $handle,
		pid => $handle->{KIDS}[0]{PID},
		port => $port,
		log => $log,
		name => $name
	};
	push @exporters, $exporter;
	my $deadline = time() + 30;
	while (time() < $deadline)
	{
		my $response = $http->get("http://127.0.0.1:$port/metrics");
		return $exporter if $response->{success} && $response->{content} =~ /^pg_up 1$/m;
		usleep(100_000);
	}
	die "the exporter $name did not serve metrics with pg_up 1; see $log";
}

sub stop_exporter
{
	my ($exporter) = @_;
	return unless $exporter->{handle};
	$exporter->{handle}->signal('TERM');
	eval { $exporter->{handle}->finish; 1 } or $exporter->{handle}->kill_kill;
	delete $exporter->{handle};
	return;
}

END { stop_exporter($_) for @exporters; }

# One scrape: { series => [[name, {labels}, value], ...], type => {...}, help => {...} }.
sub scrape
{
	my ($exporter) = @_;
	my $response = $http->get("http://127.0.0.1:$exporter->{port}/metrics");
	die "scrape of $exporter->{name}: $response->{status} $response->{reason}"
	  unless $response->{success};
	my %scrape = (series => [], type => {}, help => {});
	for (split /\n/, $response->{content})
	{
		if (/^# TYPE (\w+) (\w+)$/) { $scrape{type}{$1} = $2; next; }
		if (/^# HELP (\w+) (.*)$/) { $scrape{help}{$1} = $2; next; }
		next unless /^(\w+)(?:\{(.*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %labels = $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
		push @{ $scrape{series} }, [ $name, \%labels, $value ];
	}
	return \%scrape;
}

# The values of the series $name whose labels include %want.
sub values_of
{
	my ($scrape, $name, %want) = @_;
	return map { $_->[2] } grep {
		my $s = $_;
		$s->[0] eq $name && !grep { ($s->[1]{$_} // '') ne $want{$_} } keys %want
	} @{ $scrape->{series} };
}

# The value of the one series $name with labels %want; undef when there is
# none, a failure when there are several.
sub value_of
{
	my ($scrape, $name, %want) = @_;
	my @values = values_of($scrape, $name, %want);
	fail("one series $name, not " . scalar(@values)) if @values > 1;
	return $values[0];
}

# snowflake_status() as the exporter's role sees it, as a hash ref, with
# last_id_epoch: last_id_time in seconds since the Unix epoch.
my @status_columns = qw(node_id clock_drift_ms borrow_events next_ms_waits clock_behind_errors
  clock_warnings reservation_writes reservation_failures lease_claims leases_lost
  fence_expirations state);

sub status_as_monitor
{
	my ($node) = @_;
	my $row = $node->safe_psql('postgres',
		"SET ROLE $role; SELECT " . join(', ', @status_columns)
		  . ', extract(epoch FROM last_id_time) FROM snowflake_status()');
	my %status;
	@status{ @status_columns, 'last_id_epoch' } = split /\|/, $row, -1;
	return \%status;
}

my %counter_column = map { ("snowflake_${_}_total" => $_) }
  qw(borrow_events next_ms_waits clock_behind_errors clock_warnings reservation_writes
  reservation_failures lease_claims leases_lost fence_expirations);

# ---- server A: node id 5 held in etcd ---------------------------------------
my $ttl = 5;
my $etcd = SnowflakeEtcd->new($PostgreSQL::Test::Utils::tmp_check, 1);
my $a = snowflake_node(
	'exporter_a', 5,
	"snowflake.etcd_endpoints = '"
	  . $etcd->endpoints . "'\n"
	  . "snowflake.node_lease_ttl = ${ttl}s\n"
	  . "snowflake.max_clock_drift = 7s\n");
start_node($a);
$a->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($a, 'ready'), 'A holds node id 5 in etcd');

# The role the documentation gives the exporter: pg_monitor, nothing else.
my $create_role = "CREATE ROLE $role LOGIN IN ROLE pg_monitor; CREATE ROLE nobody LOGIN";
$a->safe_psql('postgres', $create_role);
is( $a->safe_psql(
		'postgres',
		"SELECT rolsuper, pg_has_role('$role', 'pg_monitor', 'MEMBER') FROM pg_roles
		 WHERE rolname = '$role'"),
	'f|t',
	"$role is no superuser, only a member of pg_monitor");
my ($ret, $out, $err) = $a->psql('postgres', 'SET ROLE nobody; SELECT * FROM snowflake_status()');
like($err, qr/permission denied for function snowflake_status/,
	'a role outside pg_monitor may not read snowflake_status(): the grant is what the exporter needs');

my $exporter_a = start_exporter($a, 'a');
my $first = scrape($exporter_a);
is( $a->safe_psql(
		'postgres',
		"SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
		 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"),
	$role,
	"the exporter is connected as $role");

# Every declared metric, typed and explained; every series an alert needs.
my @missing = grep { !@{ [ values_of($first, $_) ] } } sort keys %declared;
is("@missing", '', 'every metric of the query file is in the scrape');
my @mistyped =
  grep { ($first->{type}{$_} // '') ne $declared{$_} } sort keys %declared;
is("@mistyped", '', 'each with the type the query file gives it (counter, gauge)');
my @unexplained = grep { ($first->{help}{$_} // '') !~ /\w{3,}.*\w{3,}/ } sort keys %declared;
is("@unexplained", '', 'each with help text');
my @counters_named_otherwise =
  grep { ($declared{$_} eq 'counter') != /_total$/ } sort keys %declared;
is("@counters_named_otherwise", '', 'counters, and only they, end in _total');
my @unserved = grep { !@{ [ values_of($first, $_) ] } } sort keys %alerted;
is("@unserved", '', 'every series the alert rules use is in the scrape');
is(value_of($first, 'pg_exporter_last_scrape_error'), 0, 'the scrape had no error');

# What snowflake_status() and snowflake_fleet() say, as the monitor role.
my $status = status_as_monitor($a);
is(value_of($first, 'snowflake_ready'), 1, 'snowflake_ready 1 (state ready)');
is(value_of($first, 'snowflake_node_id'), $status->{node_id}, 'snowflake_node_id 5');
is(value_of($first, 'snowflake_status_info', state => 'ready', node_id => '5'),
	1, 'snowflake_status_info{state="ready", node_id="5"} 1');
is(value_of($first, 'snowflake_max_clock_drift_seconds'), 7,
	'snowflake_max_clock_drift_seconds 7 (snowflake.max_clock_drift = 7s)');
is(value_of($first, 'snowflake_last_id_timestamp_seconds'), 'NaN',
	'snowflake_last_id_timestamp_seconds NaN before the first ID');
is(value_of($first, 'snowflake_lease_claims_total'), 1, 'one lease claim counted');

my $fleet = $a->safe_psql('postgres',
	"SET ROLE $role; SELECT node_id, this_server, extract(epoch FROM lease_expires_in)
	 FROM snowflake_fleet() WHERE holder_host IS NOT NULL");
my ($fleet_node_id, $fleet_this, $fleet_left) = split /\|/, $fleet;
is("$fleet_node_id|$fleet_this", '5|t', 'snowflake_fleet(): node id 5 held by this server');
is(value_of($first, 'snowflake_fleet_held', node_id => 5, this_server => 'true'),
	1, 'snowflake_fleet_held{node_id="5", this_server="true"} 1');
my $left = value_of($first, 'snowflake_fleet_lease_expires_in_seconds', node_id => 5);
ok(defined $left && $left > 0 && $left <= $ttl,
	"snowflake_fleet_lease_expires_in_seconds $left within (0, $ttl] (SQL: $fleet_left)");
is(value_of($first, 'snowflake_fleet_lease_ttl_seconds', node_id => 5),
	$ttl, "snowflake_fleet_lease_ttl_seconds $ttl");
ok(value_of($first, 'snowflake_fleet_high_water_timestamp_seconds', node_id => 5) > time() - 60,
	'snowflake_fleet_high_water_timestamp_seconds is a recent time');

# ---- IDs issued: the counters and the time of the newest ID move ------------
my @ids = next_ids($a, 5000);
is(scalar(@ids), 5000, 'A issues 5000 IDs');
my $before = status_as_monitor($a);
my $second = scrape($exporter_a);
my $after = status_as_monitor($a);
is(value_of($second, 'snowflake_last_id_timestamp_seconds') + 0,
	$before->{last_id_epoch} + 0,
	'snowflake_last_id_timestamp_seconds is the time of the newest ID, as snowflake_status() says');
ok(value_of($second, 'snowflake_reservation_writes_total') >
	  value_of($first, 'snowflake_reservation_writes_total'),
	'snowflake_reservation_writes_total moved after the IDs were issued');
for my $series (sort keys %counter_column)
{
	my $column = $counter_column{$series};
	my $value = value_of($second, $series);
	ok( $before->{$column} <= $value && $value <= $after->{$column},
		"$series $value is snowflake_status().$column ($before->{$column}..$after->{$column})");
}
# Right after a claim, IDs start above the node id's high-water mark, ahead
# of the clock, and the drift shrinks as the clock catches up: it lies
# between the two reads of snowflake_status() around the scrape.
my $drift_ms = value_of($second, 'snowflake_clock_drift_seconds') * 1000;
ok( $after->{clock_drift_ms} - 1 <= $drift_ms && $drift_ms <= $before->{clock_drift_ms} + 1,
	"snowflake_clock_drift_seconds is clock_drift_ms in seconds ($drift_ms ms: "
	  . "$before->{clock_drift_ms}..$after->{clock_drift_ms})");

# ---- etcd gone: fenced ------------------------------------------------------
$etcd->kill_member(0);
ok(wait_snowflake_state($a, 'etcd unavailable', 30), 'A without etcd: state "etcd unavailable"');
# The state changes at the first request etcd does not answer; the fence
# runs out up to a renewal interval later, and its expiry is counted when
# the writer next publishes a fence (after its request to etcd timed out).
my $fence_deadline = time() + 30;
usleep(100_000)
  while status_as_monitor($a)->{fence_expirations} < 1 && time() < $fence_deadline;
my $fenced = scrape($exporter_a);
my $fenced_status = status_as_monitor($a);
is(value_of($fenced, 'snowflake_ready'), 0, 'snowflake_ready 0 once fenced');
is(value_of($fenced, 'snowflake_status_info', state => 'etcd unavailable'),
	1, 'snowflake_status_info{state="etcd unavailable"} 1');
is(scalar(values_of($fenced, 'snowflake_status_info', state => 'ready')),
	0, 'no series says ready any more');
ok($fenced_status->{fence_expirations} >= 1, 'snowflake_status() counts a fence expiration');
is(value_of($fenced, 'snowflake_fence_expirations_total'),
	$fenced_status->{fence_expirations}, 'so does snowflake_fence_expirations_total');
is(value_of($fenced, 'snowflake_node_id'), 5, 'the node id is still 5');
is(scalar(values_of($fenced, 'snowflake_fleet_held')),
	0, 'no fleet series while etcd cannot be read');
is(value_of($fenced, 'pg_exporter_last_scrape_error'),
	1, 'and the exporter reports that scrape as failed (snowflake_fleet() raised 08006)');
stop_exporter($exporter_a);
$a->stop;

# ---- server B: no node id, no etcd --------------------------------------------
my $b = snowflake_node('exporter_b', -1);
start_node($b);
$b->safe_psql('postgres', "CREATE EXTENSION snowflake; $create_role");
my $exporter_b = start_exporter($b, 'b');
my $unset = scrape($exporter_b);
is(status_as_monitor($b)->{state}, 'node id not set', 'B: snowflake_status() says node id not set');
is(value_of($unset, 'snowflake_ready'), 0, 'snowflake_ready 0');
is(value_of($unset, 'snowflake_node_id'), -1, 'snowflake_node_id -1');
is(value_of($unset, 'snowflake_status_info', state => 'node id not set'),
	1, 'snowflake_status_info{state="node id not set"} 1');
is(scalar(values_of($unset, 'snowflake_fleet_held')), 0, 'no fleet series without etcd');
is(value_of($unset, 'pg_exporter_last_scrape_error'),
	0, 'and no scrape error: snowflake_fleet() is not called without etcd');
stop_exporter($exporter_b);
is(scalar(grep { kill 0, $_->{pid} } @exporters), 0, 'both exporters are stopped');
$b->stop;
$etcd->stop;

done_testing();
