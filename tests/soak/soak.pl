# The soak test (make soak DURATION=seconds; not part of make test).
#
# Two servers (node ids 21 and 22) issue IDs to concurrent clients for
# SOAK_DURATION seconds while a controller, at random intervals of 0.5-2.5 s,
# does one of:
#   - kill -9 of a random client's backend (a crash restart of that server);
#   - kill -9 of a postmaster, then a start;
#   - a wall-clock step of one server, back 1-6 s or forward 1-3 s (libfaketime
#     with a FAKETIME_TIMESTAMP_FILE, as tests/t/lib/SnowflakeTAP.pm does;
#     the offset stays within -8 s .. +4 s of the real time);
#   - fills the file system that holds both servers' pg_snowflake/ (a tiny
#     tmpfs, SNOWFLAKE_TEST_TMPFS, mounted by scripts/soak.sh), or empties it;
#   - a burst: one statement of 200,000 IDs.
# A crash while the disk is full can leave a server that refuses to start
# (crash recovery cannot write the replayed reservation): the soak frees the
# disk and starts it again, and counts it.
# Clients are psql sessions that keep asking for IDs (20 a statement, 50 statements a second); one
# that loses its server is replaced. Every ID a client received is kept.
# A crash or a start begins a new "epoch" of a server, once every client of
# the old one has gone.
#
# At the end every ID is merged and checked:
#   - no ID appears twice (across both servers);
#   - each ID carries its server's node id;
#   - within one session, IDs strictly increase;
#   - per server, every ID of an epoch is greater than every ID of all earlier
#     epochs (nothing issued before a crash is issued again, and the order
#     survives crash restarts, kill -9 of the postmaster, clock steps).
# Errors clients saw are counted by SQLSTATE; expected are 53100 (the disk is
# full once the reserved window is used), 58000 (clock too far behind) and
# lost connections. Anything else, or a server process dying of a signal
# other than the ones we sent, fails the soak.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../t/lib";
use SnowflakeTAP;
use File::Path qw(rmtree);
use POSIX qw(:sys_wait_h _exit);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

# psql calls to a server being crashed on purpose can hit a closed pipe:
# that must be an error to handle, not a signal that ends the soak.
$SIG{PIPE} = 'IGNORE';

my $duration = $ENV{SOAK_DURATION} // 300;
my $tmpfs = $ENV{SNOWFLAKE_TEST_TMPFS} // '';
my $seed = $ENV{SOAK_SEED} // time();
srand($seed);
note "soak: $duration s, seed $seed";
my $clients_per_node = 3;

my (%nodes, %stats);
my @node_ids = (21, 22);
for my $id (@node_ids)
{
	my $node = snowflake_node("soak_$id", $id,
		"snowflake.max_clock_drift = '20s'\nmax_connections = 40\nlog_statement = none\nrestart_after_crash = on\n");
	my $clock_file = $node->basedir . '/faketime';
	write_clock_file($clock_file, '+0');
	if ($tmpfs ne '')
	{
		mkdir "$tmpfs/node_$id" or die "cannot create $tmpfs/node_$id: $!";
	}
	$nodes{$id} = {
		node => $node, id => $id, clock_file => $clock_file, offset => 0,
		epoch => 0, clients => [], seq => 0 };
}

# A start after a crash that the server refuses while the disk is full: crash
# recovery replays the last reservations from WAL and must write them to the
# state file before WAL can be recycled, so it stops with FATAL rather than
# forget them (by design, README "Reservations travel through WAL"). The
# soak then does what a DBA would: frees space and starts again. True if the
# log since $offset shows that refusal.
my $filler;
sub refused_for_full_disk
{
	my ($n, $offset) = @_;
	my $log = slurp_file($n->{node}->logfile, $offset);
	return 0 unless $log =~ /could not write the replayed reservation/;
	$stats{starts_refused_disk_full}++;
	if ($filler)
	{
		unlink $filler;
		$filler = undef;
		$stats{disk_empties}++;
	}
	return 1;
}

sub start_server
{
	my ($n) = @_;
	my $offset = -s $n->{node}->logfile // 0;
	if (!start_node($n->{node}, clock_file => $n->{clock_file}, fail_ok => 1))
	{
		refused_for_full_disk($n, $offset) or die "server $n->{id} did not start";
		start_node($n->{node}, clock_file => $n->{clock_file});
	}
	$n->{epoch}++;
	return;
}

for my $n (values %nodes)
{
	start_server($n);
	$n->{node}->safe_psql('postgres', 'CREATE EXTENSION snowflake');
	if ($tmpfs ne '')
	{
		# The state directory made by the first start moves to the shared
		# tiny tmpfs (a symlink in its place), so "disk full" is real.
		$n->{node}->stop;
		my $dir = $n->{node}->data_dir . '/pg_snowflake';
		my $target = "$tmpfs/node_$n->{id}/pg_snowflake";
		system('mv', $dir, $target) == 0 or die "cannot move $dir to $target";
		symlink($target, $dir) or die "cannot symlink $dir: $!";
		start_server($n);
	}
}

my $outdir = "$PostgreSQL::Test::Utils::tmp_check/soak_out";
mkdir $outdir or die "cannot create $outdir: $!";

sub start_soak_client
{
	my ($n, $sql, $repeat, $kind) = @_;
	my $name = sprintf('soak_%d_%04d_%05d_%s', $n->{id}, $n->{epoch}, ++$n->{seq}, $kind);
	my $base = "$outdir/$name";
	open my $fh, '>', "$base.sql" or die "cannot write $base.sql: $!";
	print $fh "$sql\n" x $repeat;
	close $fh;
	# A plain child process: the controller only needs to know when it ends.
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$base.out" or _exit(1);
		open STDERR, '>', "$base.err" or _exit(1);
		exec('psql', '-XAtq', '-v', 'VERBOSITY=verbose',
			'-d', $n->{node}->connstr('postgres') . " application_name=$name",
			'-f', "$base.sql") or _exit(1);
	}
	push @{ $n->{clients} }, { pid => $pid, name => $name, kind => $kind };
	$stats{sessions}++;
	return;
}

sub client_alive
{
	my ($c) = @_;
	return 0 if $c->{done};
	# -1: already reaped elsewhere (the test framework reaps its own children).
	my $w = waitpid($c->{pid}, WNOHANG);
	$c->{done} = 1 if $w == $c->{pid} || $w == -1;
	return !$c->{done};
}

# Replaces clients that have ended, keeping $clients_per_node steady ones.
sub top_up_clients
{
	my ($n) = @_;
	my @alive = grep { client_alive($_) } @{ $n->{clients} };
	$n->{clients} = \@alive;
	my $steady = grep { $_->{kind} eq 'steady' } @alive;
	for ($steady + 1 .. $clients_per_node)
	{
		start_soak_client($n,
			'SELECT snowflake_next_id() FROM generate_series(1, 20), pg_sleep(0.02);',
			50_000, 'steady');
	}
	return;
}

# Waits until every client of $n has gone (after a crash), up to 20 s; any
# left then is killed, so that every ID of a later client is issued after
# every ID of these (the epoch check relies on it).
sub wait_clients_gone
{
	my ($n) = @_;
	my $deadline = time() + 20;
	while (time() < $deadline)
	{
		my $alive = grep { client_alive($_) } @{ $n->{clients} };
		last unless $alive;
		sleep 0.05;
	}
	for my $c (@{ $n->{clients} })
	{
		if (client_alive($c))
		{
			diag "client $c->{name} outlived its server; killing it";
			kill 'KILL', $c->{pid};
			waitpid($c->{pid}, 0);
			$stats{client_kills}++;
		}
	}
	$n->{clients} = [];
	return;
}

# psql through the test framework; a server that goes away mid-call (it is
# being crashed on purpose) is a failed call, not a failed soak.
sub try_psql
{
	my ($n, $sql) = @_;
	my ($ret, $out);
	eval { ($ret, $out) = $n->{node}->psql('postgres', $sql, timeout => 10); 1 } or return;
	return (defined $ret && $ret == 0, $out);
}

sub server_accepts
{
	my ($n) = @_;
	my ($ok) = try_psql($n, 'SELECT 1');
	return $ok;
}

# After a backend was killed: the crash restart, or (disk full) its refusal,
# in which case the postmaster has shut down and the server is started again.
sub wait_server_accepts
{
	my ($n, $log_offset) = @_;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		return 1 if server_accepts($n);
		my $pid = $n->{node}->{_pid};
		if (defined $log_offset && defined $pid && !kill(0, $pid))
		{
			wait_gone([$pid], 0) or die "postmaster $pid of server $n->{id} lingers";
			refused_for_full_disk($n, $log_offset)
			  or die "server $n->{id} shut down after a crash";
			$n->{node}->_update_pid(0);
			start_server($n);
			return 1;
		}
		sleep 0.1;
	}
	die "server $n->{id} does not come back";
}

sub kill_backend
{
	my ($n) = @_;
	my ($ok, $out) = try_psql($n,
		"SELECT pid FROM pg_stat_activity WHERE application_name ~ '^soak_[0-9]' "
		  . "AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1");
	return unless $ok && $out =~ /^(\d+)$/;
	my $log_offset = -s $n->{node}->logfile;
	kill 'KILL', $1;
	$stats{backend_kills}++;
	wait_clients_gone($n);
	wait_server_accepts($n, $log_offset);
	$n->{epoch}++;    # a crash restart: new shared memory, the state file read again
	return;
}

sub kill_postmaster
{
	my ($n) = @_;
	kill9_postmaster($n->{node});
	$stats{postmaster_kills}++;
	wait_clients_gone($n);
	start_server($n);
	return;
}

sub step_clock
{
	my ($n) = @_;
	my $delta = rand() < 0.5 ? -(1 + int(rand(6))) : 1 + int(rand(3));
	my $offset = $n->{offset} + $delta;
	$offset = -8 if $offset < -8;
	$offset = 4 if $offset > 4;
	return if $offset == $n->{offset};
	$stats{ $offset < $n->{offset} ? 'clock_steps_back' : 'clock_steps_forward' }++;
	$n->{offset} = $offset;
	write_clock_file($n->{clock_file}, $offset >= 0 ? "+$offset" : "$offset");
	return;
}

sub toggle_disk
{
	return if $tmpfs eq '';
	if ($filler)
	{
		unlink $filler;
		$filler = undef;
		$stats{disk_empties}++;
		return;
	}
	$filler = "$tmpfs/filler";
	open my $fh, '>:raw', $filler or die "cannot create $filler: $!";
	my $block = "\0" x 4096;
	for (1 .. 3)
	{
		while (1)
		{
			my $w = syswrite($fh, $block);
			last if !defined $w || $w == 0;
			die "$tmpfs is not a tiny file system" if -s $filler > 64 * 1024 * 1024;
		}
		sleep 0.05;
	}
	close $fh;
	$stats{disk_fills}++;
	return;
}

sub burst
{
	my ($n) = @_;
	start_soak_client($n, 'SELECT snowflake_next_id() FROM generate_series(1, 200000);',
		1, 'burst');
	$stats{bursts}++;
	return;
}

END
{
	unlink $filler if $filler;
}

my $t0 = time();
top_up_clients($_) for values %nodes;
while (time() - $t0 < $duration)
{
	sleep 0.5 + rand(2);
	my $n = $nodes{ $node_ids[ int(rand(@node_ids)) ] };
	my $r = rand();
	if ($r < 0.25) { kill_backend($n) }
	elsif ($r < 0.35) { kill_postmaster($n) }
	elsif ($r < 0.65) { step_clock($n) }
	elsif ($r < 0.85) { toggle_disk() }
	else { burst($n) }
	top_up_clients($_) for values %nodes;
}
my $elapsed = time() - $t0;

# Wind down: room on the disk, clocks back to real time, clients stopped.
if ($filler) { unlink $filler; $filler = undef; }
for my $n (values %nodes)
{
	try_psql($n,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		  . "WHERE application_name ~ '^soak_[0-9]' AND pid <> pg_backend_pid()");
	wait_clients_gone($n);
	$n->{node}->stop('fast');
}

#
# Checks.
#
my %err_by_state;
my ($total, $bad_lines, $not_increasing, $wrong_node) = (0, 0, 0, 0);
my %epoch_range;    # node => epoch => [min, max]
my $merged = "$outdir/all_ids";
open my $all, '>', $merged or die "cannot write $merged: $!";
opendir my $dh, $outdir or die;
for my $f (sort grep { /^soak_.*\.out$/ } readdir $dh)
{
	my ($node_id, $epoch) = $f =~ /^soak_(\d+)_(\d+)_/ or next;
	open my $fh, '<', "$outdir/$f" or die;
	my $prev = -1;
	while (my $line = <$fh>)
	{
		chomp $line;
		next if $line eq '';
		if ($line !~ /^\d+$/) { $bad_lines++; next; }
		my $id = $line + 0;
		$total++;
		$not_increasing++ if $id <= $prev;
		$prev = $id;
		$wrong_node++ if (($id >> 12) & 1023) != $node_id;
		my $r = $epoch_range{$node_id}{ $epoch + 0 } //= [ $id, $id ];
		$r->[0] = $id if $id < $r->[0];
		$r->[1] = $id if $id > $r->[1];
		print $all "$line\n";
	}
	close $fh;
	(my $err_file = "$outdir/$f") =~ s/\.out$/.err/;
	if (open my $eh, '<', $err_file)
	{
		while (my $line = <$eh>)
		{
			if ($line =~ /^psql:.*?ERROR:  ([0-9A-Z]{5}):/) { $err_by_state{$1}++ }
			elsif ($line =~ /connection to server was lost|server closed the connection|terminating connection/)
			{
				$err_by_state{'connection lost'}++;
			}
		}
		close $eh;
	}
}
closedir $dh;
close $all;

my $dups = `LC_ALL=C sort -S 512M '$merged' | uniq -d | wc -l`;
chomp $dups;
my $epoch_violations = 0;
my %epochs_seen;
for my $node_id (sort keys %epoch_range)
{
	my $max_before;
	for my $epoch (sort { $a <=> $b } keys %{ $epoch_range{$node_id} })
	{
		my ($min, $max) = @{ $epoch_range{$node_id}{$epoch} };
		$epochs_seen{$node_id}++;
		if (defined $max_before && $min <= $max_before)
		{
			$epoch_violations++;
			diag "node $node_id epoch $epoch: smallest ID $min is not above $max_before";
		}
		$max_before = $max if !defined $max_before || $max > $max_before;
	}
}

# Server processes that died of a signal we did not send (SIGKILL is ours).
my $crashes = 0;
for my $n (values %nodes)
{
	my $log = slurp_file($n->{node}->logfile);
	my @bad = $log =~ /(process \(PID \d+\) was terminated by signal (?!9:)\d+[^\n]*)/g;
	$crashes += @bad;
	diag "node $n->{id}: $_" for @bad;
}
my %expected_errors = map { $_ => 1 } ('53100', '58000', '57P01', '57P02', '57P03', 'connection lost');
my $unexpected = 0;
for my $s (sort keys %err_by_state)
{
	next if $expected_errors{$s};
	$unexpected += $err_by_state{$s};
	diag "unexpected error SQLSTATE $s x $err_by_state{$s}";
}

my $summary = sprintf(
	"soak: %.0f s, %d IDs in %d sessions (%.0f IDs/s); node 21: %d epochs, node 22: %d epochs; "
	  . "backend kills %d, postmaster kills %d, clock steps back %d / forward %d, "
	  . "disk fills %d / empties %d, starts refused on a full disk %d, bursts %d; errors: %s",
	$elapsed, $total, $stats{sessions} // 0, $total / ($elapsed || 1),
	$epochs_seen{21} // 0, $epochs_seen{22} // 0,
	$stats{backend_kills} // 0, $stats{postmaster_kills} // 0,
	$stats{clock_steps_back} // 0, $stats{clock_steps_forward} // 0,
	$stats{disk_fills} // 0, $stats{disk_empties} // 0,
	$stats{starts_refused_disk_full} // 0, $stats{bursts} // 0,
	join(', ', map { "$_ x $err_by_state{$_}" } sort keys %err_by_state) || 'none');
diag $summary;

cmp_ok($total, '>', 0, 'IDs were issued');
is($bad_lines, 0, 'every client output line is an ID');
is($dups, 0, "no duplicate among $total IDs");
is($wrong_node, 0, "every ID carries its server's node id");
is($not_increasing, 0, 'IDs strictly increase within every session');
is($epoch_violations, 0,
	'per server, every epoch (crash restart or start) issues only IDs above all earlier ones');
is($crashes, 0, 'no server process died of a signal the soak did not send');
is($unexpected, 0, 'clients saw only the expected errors');
ok((values %epochs_seen)[0] // 0 > 1, 'the servers were restarted during the soak')
  if $duration >= 30;
done_testing();
