# Disk faults while reserving (issue 3, test d). The faults are real:
#   - read-only: the state directory loses its write permission (the server
#     runs as an unprivileged user, so the mode bits apply);
#   - disk full: the state directory lives on a tiny tmpfs that a filler file
#     fills up. The tmpfs is mounted by scripts/test.sh (root) and passed in
#     SNOWFLAKE_TEST_TMPFS; without it that part is skipped.
# Expected (DESIGN.md G4; docs/design.md "Failure model"): once the reserved window is
# used up, snowflake_next_id() raises an ERROR (42501, 53100) naming the file,
# issues no ID and leaves the state file as it was; reservation_failures
# counts; as soon as the disk works again the next call succeeds by itself,
# with IDs greater than every earlier one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use Errno qw(ENOSPC);
use File::Path qw(rmtree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = snowflake_node('disk_faults', 4);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my $dir = $node->data_dir . '/pg_snowflake';
my @ids = next_ids($node, 1000);
my $max_id = max_of(@ids);

# Calls snowflake_next_id() in one session, 100 a second, until one fails
# (at most 8 s). Returns (IDs returned, stderr, seconds until the error).
sub call_until_error
{
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n"
		  . "SELECT snowflake_next_id() FROM pg_sleep(0.01);\n" x 800,
		on_error_stop => 1);
	my @got = grep { $_ ne '' } split /\n/, $out;
	return (\@got, $ret == 0 ? '' : $err, time() - $t0);
}

# The common expectations for a fault. $sqlstate_re and $cause_re match the
# error; $state_path is the state file to watch.
sub expect_fault
{
	my ($label, $sqlstate, $cause_re, $state_path) = @_;
	my ($got, $err, $seconds) = call_until_error();
	like($err, qr/ERROR:  $sqlstate: snowflake could not reserve IDs: $cause_re/,
		"$label: snowflake_next_id() fails with SQLSTATE $sqlstate once the window is used")
	  or diag "stderr: $err";
	note sprintf('%s: %d IDs in %.2f s before the first error', $label, scalar @$got, $seconds);
	cmp_ok($seconds, '<', 5, "$label: within the reserved window (about a second)");
	like($err, qr/HINT:  Free space on, or restore write access to, the file system/,
		"$label: the hint names the fix");
	unlike($err, qr/\Q${\ $node->data_dir}\E/,
		"$label: the client's error does not show the data directory");
	if (@$got)
	{
		cmp_ok(min_of(@$got), '>', $max_id, "$label: IDs before the error are new");
		is(strictly_increasing($got), -1, "$label: and increase");
		$max_id = max_of(@$got);
	}
	my $last_before = snowflake_status($node)->{last_id};
	my $file_before = read_raw($state_path);
	my $failing_calls = 0;
	for (1 .. 3)
	{
		my ($ret, $out, $err2) = try_next_id($node);
		$failing_calls++ if $ret != 0 && $out eq '' && $err2 =~ /ERROR:  $sqlstate: /;
	}
	is($failing_calls, 3, "$label: every further call fails and returns no ID");
	my $s = snowflake_status($node);
	is($s->{last_id}, $last_before, "$label: no ID was issued by the failing calls");
	cmp_ok($s->{reservation_failures}, '>', 0,
		"$label: reservation_failures counts ($s->{reservation_failures})");
	is(read_raw($state_path), $file_before, "$label: the state file is unchanged");
	ok(!-e "$state_path.tmp", "$label: no temporary file is left behind");
	return;
}


# After the fault is repaired: the next call succeeds with no restart.
# $writes: reservation_writes before the repair.
sub expect_recovery
{
	my ($label, $writes) = @_;
	my ($ret, $out, $err) = try_next_id($node);
	is($ret, 0, "$label: the next call succeeds without a restart") or diag $err;
	cmp_ok($out || 0, '>', $max_id, "$label: with an ID greater than every earlier one");
	my @more = next_ids($node, 1000);
	cmp_ok(min_of(@more), '>', $out || 0, "$label: and IDs keep increasing");
	$max_id = max_of(@more);
	cmp_ok(snowflake_status($node)->{reservation_writes},
		'>', $writes, "$label: reservations are written again");
	return;
}

#
# Read-only state directory.
#
my $offset = log_size($node);
chmod 0500, $dir or die "chmod $dir: $!";
expect_fault('read-only', '42501',
	qr/could not create the temporary state file "pg_snowflake\/state": Permission denied/,
	"$dir/state");
is(count_in_log($node, qr/WARNING:  snowflake: could not renew the reservation/, $offset),
	1, 'read-only: the reservation writer logs the failure once');
my $writes = snowflake_status($node)->{reservation_writes};
chmod 0700, $dir or die "chmod $dir: $!";
expect_recovery('read-only repaired', $writes);

#
# Full file system.
#
my $tmpfs = $ENV{SNOWFLAKE_TEST_TMPFS} // '';
my ($moved, $filler);
END
{
	# Leave nothing on the shared tmpfs, whatever happened above.
	if ($moved)
	{
		$node->stop('immediate', fail_ok => 1);
		unlink $filler if $filler;
		if (-l $dir)
		{
			unlink $dir;
			system('mv', $moved, $dir);
		}
		rmtree($moved) if -e $moved;
	}
}

SKIP:
{
	skip 'SNOWFLAKE_TEST_TMPFS is not set: the disk-full test needs a tiny tmpfs that '
	  . 'only root can mount (make test provides it)', 1
	  unless $tmpfs ne '' && -d $tmpfs && -w $tmpfs;

	$node->stop;
	$moved = "$tmpfs/pg_snowflake_$$";
	system('mv', $dir, $moved) == 0 or die "cannot move $dir to $moved";
	symlink($moved, $dir) or die "cannot symlink $dir: $!";
	start_node($node);

	@ids = next_ids($node, 1000);
	cmp_ok(min_of(@ids), '>', $max_id, 'tmpfs: IDs are issued with the state on the tmpfs');
	$max_id = max_of(@ids);
	my $stored = read_raw("$moved/state");
	cmp_ok((length($stored) == 32 || length($stored) == 40) ? unpack('Q<', substr($stored, 16, 8)) : -1,
		'>=', id_ms($max_id), 'tmpfs: the reservation there covers the IDs issued');

	# Fill the file system up. A renewal in flight while we fill frees the
	# old file's page after we stopped, so top up a few times: from then on
	# every renewal needs a page that is not there.
	# The reservation writer may fail (and log) while the file system fills.
	$offset = log_size($node);
	$filler = "$tmpfs/filler_$$";
	open my $fh, '>:raw', $filler or die "cannot create $filler: $!";
	my $block = "\0" x 4096;
	my ($written, $errno) = (0, 0);
	for my $pass (1 .. 6)
	{
		while (1)
		{
			my $n = syswrite($fh, $block);
			if (!defined $n || $n == 0)
			{
				$errno = $! + 0;
				last;
			}
			$written += $n;
			die "$tmpfs is not a tiny file system" if $written > 64 * 1024 * 1024;
		}
		sleep 0.05;
	}
	close $fh;
	is($errno, ENOSPC, "tmpfs: filled with $written bytes until ENOSPC");

	expect_fault('disk full', '53100',
		qr/could not write the temporary state file "pg_snowflake\/state": No space left on device/,
		"$moved/state");
	is(count_in_log($node, qr/WARNING:  snowflake: could not renew the reservation/, $offset),
		1, 'disk full: the reservation writer logs the failure once');

	$writes = snowflake_status($node)->{reservation_writes};
	unlink $filler or die "cannot remove $filler: $!";
	$filler = undef;
	expect_recovery('space freed', $writes);

	# Put the directory back where it belongs; leave the tmpfs empty.
	$node->stop;
	unlink $dir or die "cannot remove the symlink $dir: $!";
	system('mv', $moved, $dir) == 0 or die "cannot move $moved back";
	$moved = undef;
	start_node($node);
	@ids = next_ids($node, 10);
	cmp_ok(min_of(@ids), '>', $max_id, 'the state directory is back in the data directory');
}

$node->stop;
done_testing();
