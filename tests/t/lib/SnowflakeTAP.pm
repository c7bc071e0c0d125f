# SnowflakeTAP: helpers shared by the fault-injection TAP tests (003..007).
#
# The tests load it with
#     use FindBin;
#     use lib "$FindBin::RealBin/lib";
#     use SnowflakeTAP;
# so no -I is needed on the prove command line.
#
# Clock shifts are real: the server runs under libfaketime (LD_PRELOAD). Only
# the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC=1), and the preload is
# set with `local` around the start of one node, so it never leaks into later
# nodes, psql or pgbench.
package SnowflakeTAP;

use strict;
use warnings;
use Carp;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(
  FAKETIME_LIB
  snowflake_node
  start_node
  restart_node
  write_clock_file
  server_clock_offset
  wait_server_clock_offset
  next_ids
  try_next_id
  snowflake_status
  snowflake_state
  wait_snowflake_state
  node_id_of
  keep_ids
  kept_ids_count
  kept_duplicates
  id_ms
  state_file
  own_floor_file
  read_state_file
  system_identifier
  postmaster_children
  reservation_writer_pid
  stop_processes
  wait_gone
  kill9_postmaster
  log_size
  count_in_log
  max_of
  read_raw
  crc32c
  min_of
  strictly_increasing
  start_client
  finish_client
);

use constant FAKETIME_LIB => '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

# A new, initialised (not started) node that preloads snowflake with the given
# node id. $extra_conf is appended to postgresql.conf.
sub snowflake_node
{
	my ($name, $node_id, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'snowflake'\n"
		  . "snowflake.node_id = $node_id\n"
		  . ($extra_conf // ''));
	return $node;
}

# Environment for a server whose wall clock is shifted:
#   clock => '-3600'   a fixed offset in libfaketime's relative format
#   clock_file => path a FAKETIME_TIMESTAMP_FILE, re-read at every clock read,
#                      so the clock can be moved while the server runs
sub _faketime_env
{
	my (%opts) = @_;
	return () unless defined $opts{clock} || defined $opts{clock_file};
	-r FAKETIME_LIB or BAIL_OUT('libfaketime is not installed: ' . FAKETIME_LIB);
	my %env = (
		LD_PRELOAD => FAKETIME_LIB,
		FAKETIME_DONT_FAKE_MONOTONIC => '1');
	if (defined $opts{clock})
	{
		$env{FAKETIME} = $opts{clock};
	}
	else
	{
		$env{FAKETIME_TIMESTAMP_FILE} = $opts{clock_file};
		# Re-read at every clock read. With a cache (FAKETIME_CACHE_DURATION),
		# libfaketime 0.9.10 never refreshes it in a process that also reads
		# CLOCK_MONOTONIC often, as the reservation writer does (it compares
		# the two clocks to catch forward jumps).
		$env{FAKETIME_NO_CACHE} = '1';
	}
	return %env;
}

# Starts $node, under a shifted clock when clock/clock_file is given (see
# _faketime_env). Other options go to Cluster::start (e.g. fail_ok => 1).
sub start_node
{
	my ($node, %opts) = @_;
	my %ft = _faketime_env(%opts);
	delete @opts{qw(clock clock_file)};
	# The faketime variables exist only for this pg_ctl and the postmaster
	# it forks; `local` restores %ENV however we leave this scope.
	local $ENV{LD_PRELOAD};
	local $ENV{FAKETIME};
	local $ENV{FAKETIME_TIMESTAMP_FILE};
	local $ENV{FAKETIME_CACHE_DURATION};
	local $ENV{FAKETIME_NO_CACHE};
	local $ENV{FAKETIME_DONT_FAKE_MONOTONIC};
	delete @ENV{
		qw(LD_PRELOAD FAKETIME FAKETIME_TIMESTAMP_FILE FAKETIME_CACHE_DURATION
		  FAKETIME_NO_CACHE FAKETIME_DONT_FAKE_MONOTONIC)
	};
	@ENV{ keys %ft } = values %ft;
	return $node->start(%opts);
}

# A clean stop and a start, with the clock options of start_node.
sub restart_node
{
	my ($node, %opts) = @_;
	$node->stop;
	return start_node($node, %opts);
}

sub write_clock_file
{
	my ($path, $spec) = @_;
	open my $fh, '>', "$path.new" or die "cannot write $path.new: $!";
	print $fh "$spec\n";
	close $fh or die "cannot write $path.new: $!";
	rename "$path.new", $path or die "cannot rename to $path: $!";
	return;
}

# Seconds the server's wall clock (now()) is ahead of ours: negative when the
# server's clock is behind.
sub server_clock_offset
{
	my ($node) = @_;
	my $before = time();
	my $server = $node->safe_psql('postgres',
		'SELECT extract(epoch FROM clock_timestamp())');
	my $after = time();
	return $server - ($before + $after) / 2;
}

# Waits (up to 30 s) until the server's clock is $want s off ours, within 3 s.
# Returns the last offset seen.
sub wait_server_clock_offset
{
	my ($node, $want) = @_;
	my $offset;
	for (1 .. 150)
	{
		$offset = server_clock_offset($node);
		return $offset if abs($offset - $want) < 3;
		usleep(200_000);
	}
	return $offset;
}

# $n IDs from one statement, in the order issued.
sub next_ids
{
	my ($node, $n, $db) = @_;
	$n //= 1;
	my $out = $node->safe_psql($db // 'postgres',
		"SELECT snowflake_next_id() FROM generate_series(1, $n)");
	return split /\n/, $out;
}

# One call that may fail: (exit code, stdout, stderr), stderr with SQLSTATE
# ("ERROR:  58000: ..."). $setup: a statement to run first in the session
# (e.g. SET client_min_messages = log).
sub try_next_id
{
	my ($node, $setup) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n" . ($setup ? "$setup;\n" : '') . 'SELECT snowflake_next_id()');
	return ($ret, $out, $err);
}

# snowflake_status() as a hash ref; NULL reads as ''.
sub snowflake_status
{
	my ($node) = @_;
	return $node->query_hash(
		'postgres',
		'SELECT __COLUMNS__ FROM snowflake_status()',
		qw(node_id last_id last_id_time reserved_until clock_drift_ms
		  borrow_events next_ms_waits clock_behind_errors clock_warnings
		  reservation_writes reservation_failures lease_claims leases_lost
		  fence_expirations state));
}

# snowflake_status().state: "ready", "in recovery", "node id held by another server", ...
sub snowflake_state
{
	my ($node) = @_;
	return $node->safe_psql('postgres', 'SELECT state FROM snowflake_status()');
}

# Waits up to $timeout seconds (default 60) until snowflake_state is $state;
# false (with a diag of the state it stays in) when it is not by then.
sub wait_snowflake_state
{
	my ($node, $state, $timeout) = @_;
	my $deadline = time() + ($timeout // 60);
	while (time() < $deadline)
	{
		return 1 if snowflake_state($node) eq $state;
		usleep(100_000);
	}
	diag($node->name . ' stays in state "' . snowflake_state($node) . "\", not \"$state\"");
	return 0;
}

# snowflake_status().node_id: the node id the server issues with (with etcd
# and snowflake.node_id unset, the one it was assigned).
sub node_id_of
{
	my ($node) = @_;
	return $node->safe_psql('postgres', 'SELECT node_id FROM snowflake_status()');
}

# A ledger of every ID a test's servers returned, merged at the end:
# keep_ids($server_name, @ids) records them and returns them;
# kept_ids_count() and kept_duplicates() report on all recorded so far.
my %kept_ids;    # ID => the name of the server that returned it
my $kept_duplicates = 0;

sub keep_ids
{
	my ($name, @ids) = @_;
	for (@ids)
	{
		$kept_duplicates++ if exists $kept_ids{$_};
		$kept_ids{$_} = $name;
	}
	return @ids;
}

sub kept_ids_count { return scalar(keys %kept_ids) }

sub kept_duplicates { return $kept_duplicates }

# The millisecond (since the layout epoch) an ID carries.
sub id_ms
{
	my ($id) = @_;
	return $id >> 22;
}

sub state_file
{
	my ($node) = @_;
	return $node->data_dir . '/pg_snowflake/state';
}

# The own-floor file (src/pg/own_floor.h): this server's own floor, in the
# state file's format, kept by pg_rewind.
sub own_floor_file
{
	my ($node) = @_;
	return $node->data_dir . '/pg_snowflake/own_floor.PG_VERSION';
}

# The state file of $node (or another file in its format at $path, or the
# file at the path $node): { bytes, magic, version, node_id, flags,
# reserved_until_ms, system_identifier }, or undef when it does not exist.
sub read_state_file
{
	my ($node, $path) = @_;
	$path //= ref $node ? state_file($node) : $node;
	return undef unless -e $path;
	open my $fh, '<:raw', $path or return { error => "$!" };
	local $/;
	my $bytes = <$fh> // '';
	close $fh;
	my %s = (bytes => $bytes);
	if (length($bytes) == 32 || length($bytes) == 40)
	{
		@s{qw(magic version node_id flags)} = unpack('V V V V', $bytes);
		$s{reserved_until_ms} = unpack('Q<', substr($bytes, 16, 8));
		$s{system_identifier} =
		  length($bytes) == 40 ? unpack('Q<', substr($bytes, 24, 8)) : 0;
	}
	return \%s;
}

# The cluster's system identifier, from pg_controldata (works while stopped).
sub system_identifier
{
	my ($node) = @_;
	my $bindir = $node->config_data('--bindir');
	my $out = `$bindir/pg_controldata -D @{[ $node->data_dir ]}`;
	$out =~ /^Database system identifier:\s+(\d+)/m
	  or croak "no system identifier in pg_controldata output";
	return $1;
}

# PIDs of the postmaster's children.
sub postmaster_children
{
	my ($pid) = @_;
	return map { /^\s*(\d+)\s+(\d+)/ && $2 == $pid ? ($1) : () }
	  split /\n/, `ps -eo pid=,ppid=`;
}

# PID of the node's reservation writer, or undef. It connects to no
# database, so it is not in pg_stat_activity: found by its process title.
sub reservation_writer_pid
{
	my ($node) = @_;
	my ($pid) = grep {
		my $title = '';
		if (open my $fh, '<', "/proc/$_/cmdline")
		{
			$title = <$fh> // '';
			close $fh;
		}
		$title =~ /snowflake reservation writer/;
	} postmaster_children($node->{_pid});
	return $pid;
}

# Process state letter, or undef once the process is gone.
sub _proc_state
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return undef;
	my $stat = <$fh>;
	close $fh;
	return undef unless defined $stat;
	return $stat =~ /\)\s+(\S)/ ? $1 : undef;
}

# SIGSTOP to every PID, then waits (up to 30 s) until each is stopped: a
# system call in progress completes first. Returns false if one did not stop.
# Stopped processes do nothing, not even notice that another one died: a
# kill -9 of all of them then is one event, as when a machine goes down.
sub stop_processes
{
	my (@pids) = @_;
	kill 'STOP', @pids;
	my $deadline = time() + 30;
	while (time() < $deadline)
	{
		return 1 unless grep {
			my $s = _proc_state($_);
			defined $s && $s !~ /^[TtZ]$/
		} @pids;
		usleep(10_000);
	}
	return 0;
}

# Waits until every PID is gone. $zombies_ok: a zombie counts as gone (it
# holds no shared memory); the postmaster's own PID must really be gone, or
# the next postmaster takes the lock file for a live server.
sub wait_gone
{
	my ($pids, $zombies_ok, $timeout) = @_;
	$timeout //= $PostgreSQL::Test::Utils::timeout_default;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my @left = grep {
			my $s = _proc_state($_);
			defined $s && !($zombies_ok && $s eq 'Z')
		} @$pids;
		return 1 unless @left;
		usleep(50_000);
	}
	return 0;
}

# kill -9 of the postmasters of all @nodes at once, then waits until they have
# been reaped and their children have exited, so that the nodes can be
# started again. Returns the seconds waited.
sub kill9_postmaster
{
	my (@nodes) = @_;
	my (@pms, @children);
	for my $node (@nodes)
	{
		my $pm = $node->{_pid};
		croak 'node ' . $node->name . ' is not running' unless defined $pm;
		push @pms, $pm;
		push @children, postmaster_children($pm);
	}
	my $t0 = time();
	$_->kill9 for @nodes;
	wait_gone(\@pms, 0)
	  or BAIL_OUT("killed postmasters (@pms) were not reaped");
	wait_gone(\@children, 1)
	  or BAIL_OUT("children of the killed postmasters (@pms) linger");
	return time() - $t0;
}

sub log_size
{
	my ($node) = @_;
	return -s $node->logfile // 0;
}

# Occurrences of $regex in the server log from byte $offset on.
sub count_in_log
{
	my ($node, $regex, $offset) = @_;
	my $log = slurp_file($node->logfile, $offset // 0);
	my $n = () = $log =~ /$regex/g;
	return $n;
}

# CRC-32C (Castagnoli, reflected) of $data, as the state file's checksum.
sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	for my $byte (unpack 'C*', $data)
	{
		$crc ^= $byte;
		$crc = ($crc >> 1) ^ (($crc & 1) ? 0x82F63B78 : 0) for 1 .. 8;
	}
	return $crc ^ 0xFFFFFFFF;
}

sub max_of
{
	my $m;
	for (@_) { $m = $_ if !defined $m || $_ > $m }
	return $m;
}

sub min_of
{
	my $m;
	for (@_) { $m = $_ if !defined $m || $_ < $m }
	return $m;
}

# Index of the first element not greater than its predecessor, or -1.
sub strictly_increasing
{
	my ($list) = @_;
	for my $i (1 .. $#$list)
	{
		return $i if $list->[$i] <= $list->[ $i - 1 ];
	}
	return -1;
}

# A psql client running $sql $repeat times in one session, in the
# background, with its output (one ID a line) kept: the IDs returned to the
# client. It stops at the first error, e.g. when the server goes away.
sub start_client
{
	my ($node, $name, $sql, $repeat) = @_;
	my $base = $node->basedir . "/client_$name";
	open my $fh, '>', "$base.sql" or die "cannot write $base.sql: $!";
	print $fh "$sql\n" x $repeat;
	close $fh;
	# Output goes to files: a pipe nobody reads while we wait would stall
	# the client after 64 kB.
	my %c = (name => $name, out_file => "$base.out", err_file => "$base.err");
	$c{h} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres') . " application_name=$name",
			'-f', "$base.sql"
		],
		'>', $c{out_file}, '2>', $c{err_file},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%c;
}

# Waits for the client to end; returns the IDs it received, in order. Dies on
# output that is not an ID.
sub finish_client
{
	my ($c) = @_;
	eval { $c->{h}->finish; };
	if ($@)
	{
		$c->{h}->kill_kill;
		die "client $c->{name} did not end: $@";
	}
	$c->{exit} = $c->{h}->result;
	$c->{out} = slurp_file($c->{out_file});
	$c->{err} = slurp_file($c->{err_file});
	my @ids;
	for my $line (split /\n/, $c->{out})
	{
		next if $line eq '';
		die "client $c->{name}: unexpected output line '$line'" unless $line =~ /^\d+$/;
		push @ids, $line + 0;
	}
	return @ids;
}

# The bytes of a file, or "unreadable: <reason>" (so a test can compare a
# file before and after, and still report a missing one).
sub read_raw
{
	my ($path) = @_;
	open my $fh, '<:raw', $path or return "unreadable: $!";
	local $/;
	my $bytes = <$fh>;
	close $fh;
	return $bytes;
}

1;
