# Failover on a real HA engine: Patroni with etcd (Debian's patroni and
# etcd-server), two PostgreSQL members and one etcd member on loopback, each
# member configured by the recipe docs/patroni/patroni.yml.
#
# Each round: load through the leader; kill -9 the leader's postmaster and
# its Patroni; Patroni promotes the other member; load again; the old leader's
# Patroni comes back and rejoins (pg_rewind); `patronictl switchover` back;
# load again. Every ID is merged: no duplicate, and each leader's IDs are
# above the previous leader's. Once with the members sharing a node id, once
# with their own.
use strict;
use warnings;
use File::Path qw(make_path);
use FindBin;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

for my $program (qw(patroni patronictl etcd))
{
	plan skip_all => "$program is not installed (Debian packages patroni, etcd-server)"
	  unless grep { -x "$_/$program" } split /:/, $ENV{PATH};
}

my $bindir = `pg_config --bindir`;
chomp $bindir;
my $base = PostgreSQL::Test::Utils::tempdir('patroni');
my $http = HTTP::Tiny->new(timeout => 2);

sub free_port { return PostgreSQL::Test::Cluster::get_free_port(); }

sub wait_until
{
	my ($what, $timeout, $check) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		return 1 if $check->();
		sleep 0.2;
	}
	die "timed out after $timeout s waiting for $what";
}

my (@members, $etcd);
# ---- etcd ---------------------------------------------------------------
my ($etcd_client, $etcd_peer) = (free_port(), free_port());
my $etcd_log = "$base/etcd.log";
$etcd = IPC::Run::start(
	[
		'etcd', '--name', 'e1', '--data-dir', "$base/etcd",
		'--listen-client-urls', "http://127.0.0.1:$etcd_client",
		'--advertise-client-urls', "http://127.0.0.1:$etcd_client",
		'--listen-peer-urls', "http://127.0.0.1:$etcd_peer",
		'--initial-advertise-peer-urls', "http://127.0.0.1:$etcd_peer",
		'--initial-cluster', "e1=http://127.0.0.1:$etcd_peer",
		'--initial-cluster-state', 'new'
	],
	'>', $etcd_log, '2>&1');
wait_until('etcd', 30,
	sub { $http->get("http://127.0.0.1:$etcd_client/health")->{status} == 200 });
pass('etcd is up');

# ---- Patroni members ----------------------------------------------------
# Each member's patroni.yml is the recipe of docs/high-availability.md,
# docs/patroni/patroni.yml, with only its example names, addresses, ports,
# paths and node id replaced, and the DCS timing shortened so that a failover
# takes seconds, not a minute. Every replaced text must be in the recipe as
# often as expected, so the recipe cannot drift from what is tested here.
my $recipe_file = "$FindBin::RealBin/../../docs/patroni/patroni.yml";
my $recipe = slurp_file($recipe_file);
# psql connects as the recipe's superuser, with its password.
my ($superuser_password) = $recipe =~ /superuser:\s*\n\s*username: postgres\s*\n\s*password: (\S+)/;
die "no superuser password in $recipe_file" unless defined $superuser_password;
$ENV{PGPASSWORD} = $superuser_password;

sub member_config
{
	my ($scope, $name, $node_id) = @_;
	my %m = (
		name => $name,
		scope => $scope,
		api => free_port(),
		pg => free_port(),
		dir => "$base/$scope/$name",
		node_id => $node_id);
	make_path($m{dir});
	chmod 0700, $m{dir};
	$m{config} = "$m{dir}/patroni.yml";
	# [recipe's text, replacement, times it occurs]
	my @replace = (
		[ "\nscope: orders\n", "\nscope: $scope\n", 1 ],
		[ "\nname: db1\n", "\nname: $name\n", 1 ],
		[ '10.0.0.11:8008', "127.0.0.1:$m{api}", 2 ],
		[ '10.0.0.21:2379,10.0.0.22:2379,10.0.0.23:2379', "127.0.0.1:$etcd_client", 1 ],
		[ '10.0.0.11:5432', "127.0.0.1:$m{pg}", 2 ],
		[ '10.0.0.0/24', '127.0.0.1/32', 2 ],
		[ '/var/lib/postgresql/15/main', "$m{dir}/data", 1 ],
		[ '/var/lib/postgresql/15/pgpass', "$m{dir}/pgpass", 1 ],
		[ '/usr/lib/postgresql/15/bin', $bindir, 1 ],
		[ 'unix_socket_directories: /var/run/postgresql', "unix_socket_directories: '$m{dir}'", 1 ],
		[ "snowflake.node_id: 1\n", "snowflake.node_id: $node_id\n", 1 ],
		[ 'ttl: 30', 'ttl: 10', 1 ],
		[ 'loop_wait: 10', 'loop_wait: 1', 1 ],
		[ 'retry_timeout: 10', 'retry_timeout: 3', 1 ]);
	my $config = $recipe;
	for my $r (@replace)
	{
		my ($old, $new, $times) = @$r;
		my $found = () = $config =~ /\Q$old\E/g;
		die "docs/patroni/patroni.yml has \"$old\" $found times, not $times: "
		  . "change the recipe and this test together"
		  unless $found == $times;
		$config =~ s/\Q$old\E/$new/g;
	}
	open my $fh, '>', $m{config} or die $!;
	print $fh $config;
	close $fh;
	return \%m;
}

# Everything started here is stopped when the test ends, however it ends.
END
{
	local $?;    # the children's exit codes are not the test's
	for my $m (@members)
	{
		next unless $m->{h};
		$m->{h}->signal('TERM');
		eval { $m->{h}->finish; 1 } or $m->{h}->kill_kill;
	}
	if ($etcd)
	{
		$etcd->signal('TERM');
		eval { $etcd->finish; 1 } or $etcd->kill_kill;
	}
}

sub start_patroni
{
	my ($m) = @_;
	push @members, $m unless grep { $_ == $m } @members;
	$m->{h} = IPC::Run::start([ 'patroni', $m->{config} ],
		'>>', "$m->{dir}/patroni.log", '2>&1');
	return;
}

sub role_is
{
	my ($m, $role) = @_;
	my $r = $http->get("http://127.0.0.1:$m->{api}/$role");
	return $r->{status} == 200;
}

sub psql_member
{
	my ($m, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'psql', '-XAtq', '-h', '127.0.0.1', '-p', $m->{pg}, '-U', 'postgres',
			'-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', $sql
		],
		'>', \$out, '2>', \$err);
	die "psql on $m->{name} failed: $err" if $?;
	chomp $out;
	return $out;
}

# Inserts rows one by one through the leader for $seconds; returns the IDs
# returned to the client.
sub load
{
	my ($m, $seconds) = @_;
	my @ids;
	my $deadline = time() + $seconds;
	while (time() < $deadline)
	{
		push @ids, split /\n/,
		  psql_member($m,
			'INSERT INTO items SELECT FROM generate_series(1, 200) RETURNING id');
	}
	return @ids;
}

sub postmaster_pid
{
	my ($m) = @_;
	open my $fh, '<', "$m->{dir}/data/postmaster.pid" or return undef;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	return $pid;
}

sub process_gone
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return 1;
	my $stat = <$fh>;
	return $stat =~ /\)\s+Z/ ? 1 : 0;
}

sub stop_patroni
{
	my ($m) = @_;
	return unless $m->{h};
	$m->{h}->signal('TERM');
	eval { $m->{h}->finish; 1 } or $m->{h}->kill_kill;
	delete $m->{h};
	return;
}

sub min_of { my $m = shift; $_ < $m and $m = $_ for @_; return $m; }
sub max_of { my $m = shift; $_ > $m and $m = $_ for @_; return $m; }

sub round
{
	my ($scope, $id1, $id2) = @_;
	my $m1 = member_config($scope, "${scope}_m1", $id1);
	my $m2 = member_config($scope, "${scope}_m2", $id2);
	my %name = ($m1 => 'm1', $m2 => 'm2');

	start_patroni($m1);
	wait_until("$scope: m1 leads", 90, sub { role_is($m1, 'leader') });
	wait_until("$scope: m1 accepts writes", 30,
		sub { eval { psql_member($m1, 'SELECT NOT pg_is_in_recovery()') } eq 't' });
	psql_member($m1, 'CREATE EXTENSION snowflake');
	psql_member($m1,
		'CREATE TABLE items (id bigint PRIMARY KEY DEFAULT snowflake_next_id())');
	start_patroni($m2);
	wait_until("$scope: m2 streams from m1", 90, sub { role_is($m2, 'replica') });

	my @phases;
	push @phases, [ 'm1', [ load($m1, 3) ] ];

	# Failover: the leader's postmaster and its Patroni die at once.
	my $pm = postmaster_pid($m1);
	my ($patroni_pid) = `pgrep -f -- '$m1->{config}'` =~ /(\d+)/;
	my $t_kill = time();
	kill 'KILL', $patroni_pid, $pm;
	eval { $m1->{h}->finish; 1 };
	delete $m1->{h};
	wait_until("$scope: old postmaster gone", 30, sub { process_gone($pm) });
	wait_until("$scope: Patroni promotes m2", 90, sub { role_is($m2, 'leader') });
	wait_until("$scope: m2 accepts writes", 30,
		sub { eval { psql_member($m2, 'SELECT NOT pg_is_in_recovery()') } eq 't' });
	my $failover_s = time() - $t_kill;
	push @phases, [ 'm2', [ load($m2, 3) ] ];

	# The old leader comes back (Patroni rewinds it) and a switchover returns
	# the lead to it.
	start_patroni($m1);
	wait_until("$scope: m1 rejoins as a replica", 120, sub { role_is($m1, 'replica') });
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'patronictl', '-c', $m2->{config}, 'switchover', '--leader', $m2->{name},
			'--candidate', $m1->{name}, '--force'
		],
		'>', \$out, '2>', \$err);
	is($?, 0, "$scope: patronictl switchover") or diag("$out\n$err");
	wait_until("$scope: m1 leads again", 90, sub { role_is($m1, 'leader') });
	wait_until("$scope: m1 accepts writes", 30,
		sub { eval { psql_member($m1, 'SELECT NOT pg_is_in_recovery()') } eq 't' });
	push @phases, [ 'm1 again', [ load($m1, 3) ] ];

	my %seen;
	my ($total, $dups) = (0, 0);
	for my $phase (@phases)
	{
		for my $id (@{ $phase->[1] })
		{
			$total++;
			$dups++ if $seen{$id}++;
		}
	}
	is($dups, 0, "$scope: $total IDs from three leaders, no duplicate");
	my @margins;
	for my $i (1 .. $#phases)
	{
		my ($prev, $cur) = ($phases[ $i - 1 ], $phases[$i]);
		cmp_ok(scalar @{ $cur->[1] }, '>', 100, "$scope: $cur->[0] issued IDs");
		my ($prev_max, $cur_min) = (max_of(@{ $prev->[1] }), min_of(@{ $cur->[1] }));
		cmp_ok($cur_min, '>', $prev_max,
			"$scope: every ID of leader $cur->[0] is above every ID of $prev->[0]");
		push @margins, (($cur_min >> 22) - ($prev_max >> 22));
	}
	is(psql_member($m1, 'SELECT count(*) - count(DISTINCT id) FROM items'),
		'0', "$scope: the table's keys, replicated across all failovers, are distinct");
	note(sprintf('%s: %d IDs, failover took %.1f s, margins between leaders %s ms',
			$scope, $total, $failover_s, join(' / ', @margins)));

	stop_patroni($_) for ($m2, $m1);
	return;
}

round('shared', 3, 3);
round('own', 3, 4);

done_testing();
