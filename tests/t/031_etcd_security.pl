# Node-id leases over TLS and with etcd users (issue 9): a real etcd from
# Debian, with certificates made by the openssl command.
#   - TLS with a CA and a client certificate (etcd --client-cert-auth): the
#     server claims its node id and issues; a key file that others may read
#     is refused before anything is sent.
#   - etcd user authentication: the password comes from a file only the
#     server's OS user may read; a wrong password or a readable file is an
#     error naming the cause, and the password appears in no log.
use strict;
use warnings;
use File::Path ();
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

for my $program (qw(etcd etcdctl openssl))
{
	system("command -v $program >/dev/null") == 0
	  or die "$program is not installed (Debian packages etcd-server, etcd-client, openssl)";
}

# Its own directory: prove runs every test file with the same tmp_check.
my $base = "$PostgreSQL::Test::Utils::tmp_check/etcd_031_etcd_security";
File::Path::rmtree($base);
File::Path::mkpath($base);
my $certs = "$base/certs";
mkdir $certs or die "cannot create $certs: $!";
# The server certificate is for client use too: with --client-cert-auth,
# etcd's JSON gateway presents it to etcd's own gRPC server.
open my $ext, '>', "$certs/server.ext" or die $!;
print $ext "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n";
close $ext;
open $ext, '>', "$certs/client.ext" or die $!;
print $ext "extendedKeyUsage=clientAuth\n";
close $ext;
my $newkey = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
system("set -e; cd $certs; exec >openssl.log 2>&1; "
	  . "openssl req -x509 $newkey -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca; "
	  . "openssl req $newkey -keyout server.key -out server.csr -subj /CN=etcd; "
	  . "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	  . "-extfile server.ext -out server.crt; "
	  . "openssl req $newkey -keyout client.key -out client.csr -subj /CN=snowflake; "
	  . "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	  . "-extfile client.ext -out client.crt") == 0
  or die "openssl failed: see $certs/openssl.log";
chmod 0600, "$certs/client.key";
pass('certificates made');

my @etcds;

sub start_etcd
{
	my ($name, $scheme, @extra) = @_;
	my ($client, $peer) =
	  (PostgreSQL::Test::Cluster::get_free_port(), PostgreSQL::Test::Cluster::get_free_port());
	my $url = "$scheme://127.0.0.1:$client";
	my $h = IPC::Run::start(
		[
			'etcd', '--name', $name, '--data-dir', "$base/etcd_$name",
			'--listen-client-urls', $url, '--advertise-client-urls', $url,
			'--listen-peer-urls', "http://127.0.0.1:$peer",
			'--initial-advertise-peer-urls', "http://127.0.0.1:$peer",
			'--initial-cluster', "$name=http://127.0.0.1:$peer", @extra
		],
		'>', "$base/etcd_$name.log", '2>&1');
	push @etcds, $h;
	my $tls = $scheme eq 'https'
	  ? "--cacert=$certs/ca.crt --cert=$certs/client.crt --key=$certs/client.key"
	  : '';
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		return $url
		  if system("etcdctl --endpoints=$url $tls --command-timeout=1s endpoint health "
			  . ">/dev/null 2>&1") == 0;
		sleep 0.1;
	}
	die "etcd $name did not start; see $base/etcd_$name.log";
}

# ---- TLS ------------------------------------------------------------------
my $https = start_etcd(
	'tls', 'https',
	'--cert-file' => "$certs/server.crt",
	'--key-file' => "$certs/server.key",
	'--trusted-ca-file' => "$certs/ca.crt",
	'--client-cert-auth');
my $tls_node = snowflake_node(
	'tls', 31,
	"snowflake.etcd_endpoints = '$https'\n"
	  . "snowflake.etcd_ssl_ca_file = '$certs/ca.crt'\n"
	  . "snowflake.etcd_ssl_cert_file = '$certs/client.crt'\n"
	  . "snowflake.etcd_ssl_key_file = '$certs/client.key'\n"
	  . "snowflake.node_lease_ttl = 5s\n");
start_node($tls_node);
$tls_node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($tls_node, 'ready', 30), 'over TLS with a client certificate, node id 31 is claimed');
my @ids = next_ids($tls_node, 100);
is(scalar(@ids), 100, 'and IDs are issued');
is($tls_node->safe_psql('postgres', 'SELECT node_id FROM snowflake_fleet() WHERE this_server'),
	'31', 'snowflake_fleet() reads the registry over TLS too');

# A key file others may read: refused, nothing sent.
$tls_node->stop;
chmod 0644, "$certs/client.key";
my $offset = log_size($tls_node);
start_node($tls_node);
ok(wait_snowflake_state($tls_node, 'etcd error', 30), 'a readable key file: etcd error');
my ($ret, $out, $err) = try_next_id($tls_node);
like($err, qr/ERROR:  58000: snowflake cannot hold a node id/, 'calls fail with 58000');
like($err, qr/client\.key" has group or world access/, 'and name the key file');
ok(count_in_log($tls_node, qr/WARNING:  snowflake: cannot use etcd: .*group or world access/,
		$offset),
	'the server log says so');
$tls_node->stop;
chmod 0600, "$certs/client.key";

# ---- etcd users -----------------------------------------------------------
my $http = start_etcd('auth', 'http');
my $password = 'pw-' . int(rand(1e9));
system("etcdctl --endpoints=$http user add root:$password >/dev/null") == 0
  or die 'etcdctl user add failed';
system("etcdctl --endpoints=$http auth enable >/dev/null") == 0 or die 'etcdctl auth enable failed';
my $password_file = "$base/etcd_password";

sub write_password
{
	my ($text, $mode) = @_;
	open my $fh, '>', $password_file or die $!;
	print $fh "$text\n";
	close $fh;
	chmod $mode, $password_file;
	return;
}

write_password($password, 0600);
my $auth_node = snowflake_node(
	'auth', 32,
	"snowflake.etcd_endpoints = '$http'\n"
	  . "snowflake.etcd_user = 'root'\n"
	  . "snowflake.etcd_password_file = '$password_file'\n"
	  . "snowflake.node_lease_ttl = 5s\n");
start_node($auth_node);
$auth_node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($auth_node, 'ready', 30), 'as an etcd user, node id 32 is claimed');
is(scalar(next_ids($auth_node, 100)), 100, 'and IDs are issued');

$auth_node->stop;
write_password('not-the-password', 0600);
start_node($auth_node);
ok(wait_snowflake_state($auth_node, 'etcd error', 30), 'a wrong password: etcd error');
($ret, $out, $err) = try_next_id($auth_node);
like($err, qr/58000: .*\n.*authentication failed/, "calls fail with 58000 and etcd's reason");
$auth_node->stop;

write_password($password, 0640);
start_node($auth_node);
ok(wait_snowflake_state($auth_node, 'etcd error', 30), 'a password file the group may read: etcd error');
($ret, $out, $err) = try_next_id($auth_node);
like($err, qr/etcd_password" has group or world access/, 'naming the file');
$auth_node->stop;

my $logs = slurp_file($auth_node->logfile) . slurp_file($tls_node->logfile);
unlike($logs, qr/\Q$password\E/, 'the password is in no server log');

for my $h (@etcds)
{
	$h->signal('TERM');
	eval { $h->finish; 1 } or $h->kill_kill;
}
done_testing();
