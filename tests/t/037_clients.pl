# Real clients: every program in examples/ (node-pg, psycopg 3, SQLAlchemy,
# Django, libpqxx) runs against one preloaded server, each in a database of
# its own, and fails if an ID changed on its way through its client (each
# compares every key with the server's own text of it; the node-pg one also
# asserts that a bigint key through JSON.parse does change).
#
# A client that is not installed skips its example, unless
# SNOWFLAKE_CLIENTS_REQUIRED is set (make test and make examples set it, after
# scripts/install-deps.sh clients): then it fails. node-pg comes from
# examples/node/node_modules, which scripts/examples.sh prepare installs
# (npm ci) before the tree is staged; without it, and when required, this
# file runs npm ci itself with a cache of its own.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SnowflakeTAP;
use Test::More;
use Time::HiRes qw(time);

my $examples = "$FindBin::RealBin/../../examples";
my $required = $ENV{SNOWFLAKE_CLIENTS_REQUIRED} // '';
my $tmp = PostgreSQL::Test::Utils::tempdir;
# Debian's interpreter, whose packages the Python examples use (not another
# python3 first on PATH).
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

# Runs a command; returns (succeeded, stdout and stderr).
sub run_cmd
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval { IPC::Run::run(\@cmd, '<', \'', '>', \$out, '2>', \$err) };
	return ($ok, $out . $err . ($@ // ''));
}

# What is missing for each example, or '' when it can run.
sub python_missing
{
	my ($module) = @_;
	my ($ok) = run_cmd($python, '-c', "import $module");
	return $ok ? '' : "Python module $module (scripts/install-deps.sh clients)";
}

sub node_missing
{
	my ($ok) = run_cmd('node', '--version');
	return 'node (scripts/install-deps.sh clients)' unless $ok;
	($ok) = run_cmd('node', '-e', 'require.resolve("pg", { paths: [process.argv[1]] })', "$examples/node");
	return '' if $ok;
	return 'node-pg: examples/node/node_modules (scripts/examples.sh prepare)' unless $required;
	my $log;
	{
		local $ENV{npm_config_cache} = "$tmp/npm-cache";
		local $ENV{npm_config_update_notifier} = 'false';
		($ok, $log) = run_cmd('npm', 'ci', '--no-audit', '--no-fund', '--prefix', "$examples/node");
	}
	return $ok ? '' : "node-pg: npm ci failed:\n$log";
}

my $pqxx_binary = "$tmp/pqxx_ids";
sub pqxx_missing
{
	my ($ok, $flags) = run_cmd('pkg-config', '--cflags', '--libs', 'libpqxx');
	return 'libpqxx (scripts/install-deps.sh clients)' unless $ok;
	my $log;
	($ok, $log) = run_cmd('g++', '-std=c++17', '-Wall', '-Wextra', '-Werror', '-o', $pqxx_binary,
		"$examples/cpp/pqxx_ids.cpp", split(' ', $flags));
	return $ok ? '' : "libpqxx example does not compile:\n$log";
}

my @examples = (
	[ 'node_pg', sub { node_missing() }, [ 'node', "$examples/node/ids.js" ] ],
	[ 'psycopg', sub { python_missing('psycopg') }, [ $python, "$examples/python/psycopg_ids.py" ] ],
	[   'sqlalchemy', sub { python_missing('sqlalchemy') || python_missing('psycopg2') },
		[ $python, "$examples/python/sqlalchemy_ids.py" ]
	],
	[ 'django', sub { python_missing('django') || python_missing('psycopg2') },
		[ $python, "$examples/python/django_ids.py" ] ],
	[ 'libpqxx', sub { pqxx_missing() }, [$pqxx_binary] ]);

my $node = snowflake_node('clients', 7);
$node->start;
my $user = getpwuid($>);
my @ran;

for my $example (@examples)
{
	my ($name, $missing, $cmd) = @$example;
	my $why = $missing->();
	if ($why ne '')
	{
		if ($required) { fail("$name: missing $why") }
		else
		{
		  SKIP: { skip("$name: missing $why", 1) }
		}
		next;
	}
	$node->safe_psql('postgres', "CREATE DATABASE $name");
	$node->safe_psql($name, 'CREATE EXTENSION snowflake');
	my ($ok, $log);
	my $started = time;
	{
		local $ENV{PGHOST} = $node->host;
		local $ENV{PGPORT} = $node->port;
		local $ENV{PGDATABASE} = $name;
		local $ENV{PGUSER} = $user;
		($ok, $log) = run_cmd(@$cmd);
	}
	note(sprintf("%s (%.1f s):\n%s", $name, time - $started, $log));
	ok($ok, "$name: every ID came through the client unchanged") or diag($log);
	push @ran, $name if $ok;
}

# Every example keyed its rows in a table "orders": across the databases the
# keys are distinct, this server's (node 7), and as many as the rows.
my @ids;
for my $name (@ran)
{
	push @ids, split /\n/,
	  $node->safe_psql($name, 'SELECT id::text || \' \' || snowflake_node_id(id) FROM orders');
}
my %seen;
$seen{$_}++ for @ids;
ok(@ran == 0 || (@ids > @ran && keys %seen == @ids && !grep { !/ 7$/ } @ids),
	scalar(@ids) . ' keys in the examples\' orders: distinct, node 7');
$node->stop;
done_testing();
