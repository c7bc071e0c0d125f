# A corrupt or unreadable state file (issue 3, test e). The file
# $PGDATA/pg_snowflake/state holds the floor below which this server must
# never issue an ID again, so without it generation must stop, not guess.
#
# Expected (DESIGN.md section 3, G4; docs/backup-restore.md "A lost or damaged state file"): the
# server starts and logs a WARNING; snowflake_next_id() raises an ERROR naming
# the file (XX001 when corrupt, 42501 when unreadable) with a hint pointing at
# the recovery section; snowflake_status() reports 'state file unusable'; the
# file is never rewritten, and a missing file is an error too. The documented
# recoveries then work: restoring the permissions, or moving the state
# directory aside once the clock is past the
# newest ID.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = snowflake_node('corrupt_state', 6);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @ids = next_ids($node, 1000);
my $max_id = max_of(@ids);
$node->stop;

my $path = state_file($node);
my $good = read_state_file($node);
is(length($good->{bytes}), 40, 'the state file has 40 bytes (format 2)');
is($good->{version}, 2, 'it is format version 2');
is($good->{system_identifier}, system_identifier($node),
	'it records the cluster\'s system identifier');
is(substr($good->{bytes}, 0, 4), 'SNOW', 'it starts with the magic bytes SNOW');
is($good->{node_id}, 6, 'it records the node id');
cmp_ok($good->{reserved_until_ms}, '>=', id_ms($max_id),
	'its reservation covers every ID issued');

sub write_state
{
	my ($bytes) = @_;
	open my $fh, '>:raw', $path or die "cannot write $path: $!";
	print $fh $bytes;
	close $fh or die "cannot write $path: $!";
	return;
}

sub raw
{
	open my $fh, '<:raw', $path or return "unreadable: $!";
	local $/;
	my $bytes = <$fh> // '';
	close $fh;
	return $bytes;
}

# Starts the server on the damaged file and checks everything a DBA sees.
sub expect_unusable
{
	my ($label, $sqlstate, $message_re, $cause_re) = @_;
	my $offset = log_size($node);
	start_node($node);
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$label: the server starts");
	ok( $node->log_contains(
			qr/WARNING:  snowflake: cannot use state file "pg_snowflake\/state": $cause_re/, $offset),
		"$label: the start logs a WARNING naming the file and the cause");
	ok($node->log_contains(qr/HINT:  .*"A lost or damaged state file" in docs\/backup-restore\.md/, $offset),
		"$label: with a hint to the recovery section");

	my ($errors, $hints, $empty, $leaks) = (0, 0, 0, 0);
	my $calls = 4;
	my $data_dir = $node->data_dir;
	for my $i (1 .. $calls)
	{
		my ($ret, $out, $err) = try_next_id($node);
		note "$label: $err" if $i == 1;
		$errors++
		  if $ret != 0
		  && $err =~ /ERROR:  $sqlstate: snowflake state file "pg_snowflake\/state" $message_re/;
		$leaks++ if index($err, $data_dir) >= 0;
		$hints++
		  if $err =~ /HINT:  Follow "A lost or damaged state file" in docs\/backup-restore\.md\. A copy of the file from a backup is not enough by itself: it holds an older floor than the IDs issued since\./;
		$empty++ if $out eq '';
	}
	is($errors, $calls, "$label: snowflake_next_id() fails with SQLSTATE $sqlstate naming the file");
	is($hints, $calls, "$label: the hint names the recovery step");
	is($empty, $calls, "$label: no ID is returned");
	# Any role that may call snowflake_next_id() sees the error: it names the
	# file relative to the data directory; the server log has the full path.
	is($leaks, 0, "$label: the client's error does not show the data directory");
	ok($node->log_contains(qr/DETAIL:  .* The file is "\Q$path\E"\./, $offset),
		"$label: the server log names the full path");

	my $s = snowflake_status($node);
	is($s->{state}, 'state file unusable', "$label: snowflake_status() reports the state");
	is($s->{last_id}, '', "$label: no ID was issued");
	is($s->{reservation_writes}, '0', "$label: no reservation was written");
	is($node->safe_psql('postgres', "SELECT snowflake_node_id($max_id)"),
		'6', "$label: decoding still works");
	return;
}

#
# Corruptions: the server must neither use nor rewrite the file.
#
my %corrupt = (
	'flipped byte' => sub {
		my $b = shift;
		substr($b, 17, 1) = chr(ord(substr($b, 17, 1)) ^ 0x10);
		return ($b, qr/the checksum does not match/);
	},
	'truncated' => sub {
		return (substr(shift, 0, 20), qr/the file does not have the expected size/);
	},
	'empty' => sub {
		return ('', qr/the file does not have the expected size/);
	},
	'wrong magic' => sub {
		my $b = shift;
		substr($b, 0, 4) = 'JUNK';
		return ($b, qr/the file does not start with the snowflake magic/);
	},
	'unknown version' => sub {
		my $b = shift;
		substr($b, 4, 4) = pack('V', 99);
		return ($b, qr/the file has an unknown format version/);
	});
for my $kind (sort keys %corrupt)
{
	my ($bytes, $cause_re) = $corrupt{$kind}->($good->{bytes});
	write_state($bytes);
	expect_unusable($kind, 'XX001', qr/is corrupt: $cause_re/, $cause_re);
	is(raw(), $bytes, "$kind: the file is unchanged after the calls");
	sleep 2;
	is(raw(), $bytes, "$kind: and 2 s later (no background rewrite)");
	$node->stop;
	is(raw(), $bytes, "$kind: and after the shutdown");
	ok(!-e "$path.tmp", "$kind: no new file was prepared");
}

#
# Unreadable (permissions): 42501, then the documented fix (chmod 600).
#
write_state($good->{bytes});
chmod 0000, $path or die "chmod $path: $!";
expect_unusable('unreadable', '42501',
	qr/is unreadable: could not open the state file: Permission denied/,
	qr/could not open the state file: Permission denied/);
$node->stop;
chmod 0600, $path or die "chmod $path: $!";
is(raw(), $good->{bytes}, 'unreadable: the file was not replaced');
start_node($node);
@ids = next_ids($node, 1000);
cmp_ok(min_of(@ids), '>', $max_id, 'permissions restored: IDs continue above every earlier ID');
is(snowflake_status($node)->{state}, 'ready', 'permissions restored: ready');
$max_id = max_of(@ids);
$node->stop;

#
# Recovery from a corrupt file (docs/backup-restore.md "A lost or damaged state file", steps 3-5).
#
my $damaged = raw();
substr($damaged, 18, 1) = chr(ord(substr($damaged, 18, 1)) ^ 0x01);
write_state($damaged);
start_node($node);
my ($ret) = try_next_id($node);
isnt($ret, 0, 'recovery: the corrupt file stops generation');
# Step 3: the newest ID this server issued (the test knows it; a DBA takes
# max(snowflake_timestamp(id)) over the tables); wait until the clock is past
# it by more than a few seconds.
my $newest = $node->safe_psql('postgres',
	"SELECT extract(epoch FROM snowflake_timestamp($max_id))");
sleep 0.2 while time() < $newest + 3;
$node->stop;
# Moving only the file aside is not a recovery: a directory without its
# file means a lost file, never a quiet first start.
rename $path, "$path.damaged" or die "cannot move $path aside: $!";
start_node($node);
my ($missing_ret, $missing_out, $missing_err) = try_next_id($node);
isnt($missing_ret, 0, 'a missing state file stops generation');
like($missing_err, qr/ERROR:  58P01: snowflake state file "pg_snowflake\/state" is missing/,
	'with SQLSTATE 58P01 naming the file relative to the data directory');
like($missing_err, qr/HINT:  Follow "A lost or damaged state file" in docs\/backup-restore\.md/,
	'and the recovery hint');
ok(!-e $path, 'and the file is not recreated');
$node->stop;
rename "$path.damaged", $path or die "cannot move $path back: $!";
# Step 4: move the whole state directory aside and start.
my $dir = $node->data_dir . '/pg_snowflake';
rename $dir, "$dir.damaged" or die "cannot move $dir aside: $!";
$path = "$dir.damaged/state";
my $offset = log_size($node);
start_node($node);
ok($node->log_contains(qr/this is the first start of snowflake on this server/, $offset),
	'recovery: the start is logged as a first start');
@ids = next_ids($node, 1000);
cmp_ok(min_of(@ids), '>', $max_id, 'recovery: IDs continue above every ID issued before');
is(strictly_increasing(\@ids), -1, 'recovery: and increase');
my $s = snowflake_status($node);
is($s->{state}, 'ready', 'recovery: the state is ready');
cmp_ok($s->{reservation_writes}, '>=', 1, 'recovery: a new reservation was written');
is(read_raw($path), $damaged, 'recovery: the damaged file is kept as it was');
ok(defined read_state_file($node)->{reserved_until_ms}, 'recovery: a new, valid state file exists');
ok(-d "$dir.damaged" && -d $dir, 'recovery: the damaged directory is kept beside the new one');


$node->stop;
done_testing();
