# The first start is all or nothing (issue 8, item 2). It used to create
# pg_snowflake/ (and fsync it) before writing the state file, so a failed
# first write (a full disk) or a kill between the two left a directory
# without its file, which every later start reported as a lost file
# (58P01) although no ID had ever been issued. Now the directory is prepared
# as pg_snowflake.tmp/ with its file and renamed into place.
#   1. A full disk at the first start: the data directory lives on a small
#      tmpfs (SNOWFLAKE_TEST_DATAFS, mounted by make test as root) that is
#      filled until one page is left, which the postmaster's lock file takes.
#      Expected: no pg_snowflake/ is left behind, and once space is freed the
#      next start is a clean first start.
#   2. What a first start killed midway leaves (pg_snowflake.tmp/ empty, or
#      with its file, or with a stray state.tmp) is removed and the start is a
#      first start; a leftover holding anything else is refused, not removed.
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

my $first_start_re =
  qr/LOG:  snowflake: created "pg_snowflake\/state"; no state was found, so this is the first start/;

#
# 1. Disk full at the first start.
#
my $datafs = $ENV{SNOWFLAKE_TEST_DATAFS} // '';
my ($full_node, $filler);
END
{
	if ($full_node)
	{
		$full_node->stop('immediate', fail_ok => 1) if defined $full_node->{_pid};
		unlink $filler if $filler;
		rmtree("$datafs/pgdata") if -d "$datafs/pgdata";
	}
}
SKIP:
{
	skip 'SNOWFLAKE_TEST_DATAFS is not set: the disk-full first start needs a small tmpfs for '
	  . 'a whole data directory, which only root can mount (make test provides it)', 1
	  unless $datafs ne '' && -d $datafs && -w $datafs;

	$full_node = snowflake_node('first_start_full', 12);
	my $data = $full_node->data_dir;
	system('mv', $data, "$datafs/pgdata") == 0 or die "cannot move $data to $datafs";
	symlink("$datafs/pgdata", $data) or die "cannot symlink $data: $!";

	# Fill the file system, then give back one page: the postmaster's lock
	# file (postmaster.pid) takes it before shared memory is set up, so the
	# first state file finds none.
	$filler = "$datafs/filler";
	open my $fh, '>:raw', $filler or die "cannot create $filler: $!";
	my $block = "\0" x 4096;
	my ($written, $errno) = (0, 0);
	while (1)
	{
		my $n = syswrite($fh, $block);
		if (!defined $n || $n == 0) { $errno = $! + 0; last; }
		$written += $n;
	}
	close $fh;
	is($errno, ENOSPC, "the data directory's file system is full after $written bytes");
	truncate($filler, $written - 4096) or die "cannot truncate $filler: $!";

	my $offset = log_size($full_node);
	start_node($full_node, fail_ok => 1);
	ok( $full_node->log_contains(
			qr/cannot use state file "pg_snowflake\/state": could not (?:write|create) the first state file: No space left on device/,
			$offset),
		'the first start on a full disk fails: the state file could not be written');
	$full_node->stop('fast', fail_ok => 1) if defined $full_node->{_pid};
	ok(!-e "$data/pg_snowflake", 'no pg_snowflake/ is left behind');
	ok(!-e "$data/pg_snowflake.tmp", 'nor its temporary directory');

	unlink $filler or die "cannot remove $filler: $!";
	$filler = undef;
	$offset = log_size($full_node);
	start_node($full_node);
	ok($full_node->log_contains($first_start_re, $offset),
		'with space again, the next start is a first start');
	$full_node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
	my ($ret, $out, $err) = try_next_id($full_node);
	is($ret, 0, 'and IDs are issued (no lost-file error)') or diag $err;
	is(snowflake_status($full_node)->{state}, 'ready', 'the state is ready');
	$full_node->stop;
	unlink $data;
	system('mv', "$datafs/pgdata", $data) == 0 or die "cannot move the data directory back";
	$full_node = undef;
}

#
# 2. What a first start killed midway leaves behind.
#
my $node = snowflake_node('first_start_leftover', 13);
my $dir = $node->data_dir . '/pg_snowflake';
my %leftovers = (
	'empty (killed right after mkdir)' => {},
	'with its file (killed before the rename)' => { state => 'file' },
	'with its file and a stray state.tmp' => { state => 'file', 'state.tmp' => 'x' });
my $good;
for my $label (sort keys %leftovers)
{
	rmtree($dir);
	mkdir "$dir.tmp" or die "cannot create $dir.tmp: $!";
	while (my ($name, $what) = each %{ $leftovers{$label} })
	{
		my $bytes = $what eq 'file' ? ($good // 'x' x 32) : $what;
		open my $fh, '>:raw', "$dir.tmp/$name" or die "cannot write $dir.tmp/$name: $!";
		print $fh $bytes;
		close $fh;
	}
	my $offset = log_size($node);
	start_node($node);
	ok($node->log_contains($first_start_re, $offset), "leftover $label: the start is a first start");
	ok(!-e "$dir.tmp", "leftover $label: the leftover is gone");
	$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS snowflake');
	my ($ret, $out, $err) = try_next_id($node);
	is($ret, 0, "leftover $label: IDs are issued") or diag $err;
	$node->stop;
	$good = read_raw("$dir/state");
}

# A leftover with files snowflake does not write is not snowflake's to remove.
rmtree($dir);
mkdir "$dir.tmp" or die "cannot create $dir.tmp: $!";
open my $fh, '>', "$dir.tmp/notes.txt" or die;
print $fh "someone's notes\n";
close $fh;
my $offset = log_size($node);
start_node($node);
ok( $node->log_contains(
		qr/WARNING:  snowflake: cannot use state file "pg_snowflake\/state": could not remove a leftover temporary state directory: Directory not empty/,
		$offset),
	'a leftover with unknown files: the start logs why it cannot be used');
my ($ret, $out, $err) = try_next_id($node);
isnt($ret, 0, 'a leftover with unknown files: no ID is issued');
ok(-e "$dir.tmp/notes.txt" && !-e $dir, 'a leftover with unknown files: it is kept, nothing is created');
$node->stop;

done_testing();
