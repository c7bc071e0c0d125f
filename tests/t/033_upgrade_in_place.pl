# Upgrading in place, as docs/install.md "Upgrading" tells a DBA to: a
# server runs the first release (1.1, built here from git history) with IDs
# issued; the current build is installed over it; the server is restarted;
# ALTER EXTENSION snowflake UPDATE. Then the extension is the one a fresh
# CREATE EXTENSION makes, every function of the current version answers, and
# IDs continue above the earlier ones.
#
# The old build must not reach the system's library directory: prove runs
# TAP files side by side, and every other file would load the old library.
# So the server runs from a private copy of the PostgreSQL installation: its
# programs copied (PostgreSQL finds its library and share directories
# relative to the postgres executable), every file of the library and share
# directories linked to the system's, except snowflake's own files, which are
# the old release's and later the current build's (taken from the system,
# where make install put it). This works on every supported major;
# extension_control_path would do for the SQL files only from 18 on.
#
# The new side names no version: it is default_version in snowflake.control.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $from = '1.1';
my $tree = abs_path("$FindBin::RealBin/../..");
my ($to) = slurp_file("$tree/snowflake.control") =~ /^default_version\s*=\s*'([^']+)'/m;
ok(defined $to, "snowflake.control's default_version is $to");

my $base = PostgreSQL::Test::Utils::tempdir('upgrade');
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';

# ---- the old release's source -------------------------------------------
# Exported by the scripts that stage the tree (scripts/upgrade-source.sh);
# from a checkout, exported here.
my $tar = "$tree/upgrade-from/snowflake-$from.tar";
if (-f "$tree/upgrade-from/FAILED")
{
	fail('the source of release ' . $from . ' was exported when the tree was staged');
	diag(slurp_file("$tree/upgrade-from/FAILED"));
	done_testing();
	exit;
}
if (!-f $tar && -e "$tree/.git")
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ "$tree/scripts/upgrade-source.sh", "$base/upgrade-from" ],
		'>', \$out, '2>', \$err)
	  or die "scripts/upgrade-source.sh failed: $err";
	chomp($tar = $out);
}
plan skip_all => "no source of release $from: not a git checkout, and no upgrade-from/ archive "
  . '(scripts/upgrade-source.sh makes it)'
  unless -f $tar;

sub run_ok_or_die
{
	my ($what, @cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err)
	  or die "$what failed: @cmd\n$out\n$err";
	return $out;
}

# ---- build it with PGXS, install it into a staging directory ------------
my $t0 = time();
my $src = "$base/src-$from";
make_path($src);
run_ok_or_die('unpacking', 'tar', '-xf', $tar, '-C', $src);
my $stage = "$base/stage";
{
	# Through the compiler cache when there is one (scripts/ccache.sh), at a
	# lower priority than the servers of the TAP files running beside this one.
	local $ENV{CCACHE_BASEDIR} = $src;
	local $ENV{CCACHE_NOHASHDIR} = '1';
	# The cache must be this user's to write: make test runs the TAP files as
	# an unprivileged user, while its cache (CCACHE_DIR) belongs to root, and
	# HOME may still be root's. Otherwise a cache of this test's own (cold).
	my $cache_dir = $ENV{CCACHE_DIR}
	  // ($ENV{XDG_CACHE_HOME} // ($ENV{HOME} // '/nonexistent') . '/.cache') . '/ccache';
	local $ENV{CCACHE_DIR} = -w $cache_dir ? $cache_dir : "$base/ccache";
	my $ccache = grep({ -x "$_/ccache" } split /:/, $ENV{PATH}) ? 'ccache ' : '';
	run_ok_or_die("building release $from", 'nice', '-n', '10', 'make', '-s', '-C', $src,
		'-j2', "CXX=${ccache}g++", "PG_CONFIG=$pg_config");
	run_ok_or_die("installing release $from into $stage",
		'make', '-s', '-C', $src, 'install', "DESTDIR=$stage", "PG_CONFIG=$pg_config");
}
note(sprintf('release %s built and staged in %d s', $from, time() - $t0));

# ---- a private PostgreSQL installation ----------------------------------
sub pg_config_dir
{
	my $dir = run_ok_or_die('pg_config', $pg_config, "--$_[0]");
	chomp $dir;
	return $dir;
}
my ($bindir, $libdir, $sharedir) = map { pg_config_dir($_) } qw(bindir pkglibdir sharedir);
my $root = "$base/root";

# Links every entry of $from_dir into $to_dir, except those named in %skip.
sub link_dir
{
	my ($from_dir, $to_dir, %skip) = @_;
	make_path($to_dir);
	opendir my $dh, $from_dir or die "$from_dir: $!";
	for my $entry (grep { !/^\.\.?$/ && !$skip{$_} } readdir $dh)
	{
		symlink("$from_dir/$entry", "$to_dir/$entry") or die "$to_dir/$entry: $!";
	}
	closedir $dh;
	return;
}

# The programs are copies: PostgreSQL resolves its own path through links.
make_path("$root$bindir");
run_ok_or_die('copying the programs', 'cp', '-a', "$bindir/.", "$root$bindir/");
link_dir($libdir, "$root$libdir", 'snowflake.so' => 1);
link_dir($sharedir, "$root$sharedir", extension => 1);
opendir my $ext, "$sharedir/extension" or die $!;
my @ours = grep { /^snowflake[.-]/ } readdir $ext;
closedir $ext;
link_dir("$sharedir/extension", "$root$sharedir/extension", map { $_ => 1 } @ours);

# Copies snowflake's files from $from_root (a prefix over the system's
# directories) into the private installation, each by a rename, as dpkg and
# install(1) do: the file a running server mapped stays as it was.
sub put_snowflake_files
{
	my ($from_root) = @_;
	my @put;
	for my $pair ([ $libdir, qr/^snowflake\.so$/ ],
		[ "$sharedir/extension", qr/^snowflake[.-]/ ])
	{
		my ($dir, $pattern) = @$pair;
		opendir my $dh, "$from_root$dir" or die "$from_root$dir: $!";
		for my $file (grep { $_ =~ $pattern } readdir $dh)
		{
			copy("$from_root$dir/$file", "$root$dir/$file.new") or die "$file: $!";
			rename("$root$dir/$file.new", "$root$dir/$file") or die "$file: $!";
			push @put, $file;
		}
		closedir $dh;
	}
	return sort @put;
}
my @old_files = put_snowflake_files($stage);
ok((grep { $_ eq 'snowflake.so' } @old_files), "release $from installed: @old_files");

my $install = dirname("$root$bindir");
is(run_ok_or_die('private pg_config', "$root$bindir/pg_config", '--pkglibdir'),
	"$root$libdir\n", 'the private installation finds its own library directory');

# ---- the old release, running, with IDs issued --------------------------
my $node = PostgreSQL::Test::Cluster->new('upgrade', install_path => $install);
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 5\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'"),
	$from, "the server runs release $from");
$node->safe_psql(
	'postgres', q{
	CREATE TABLE items (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), n int);
	INSERT INTO items (n) SELECT g FROM generate_series(1, 5000) g;
	CREATE TABLE typed (id snowflake PRIMARY KEY DEFAULT snowflake_next_id());
	INSERT INTO typed SELECT FROM generate_series(1, 100);
});
my $max_before = $node->safe_psql('postgres',
	'SELECT greatest((SELECT max(id) FROM items), (SELECT max(id)::bigint FROM typed))');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT id) FROM items'),
	'5000', "release $from issued 5000 IDs");

# ---- the current build installed over it --------------------------------
my @new_files = put_snowflake_files('');
ok((grep { $_ eq "snowflake--$from.sql" || /^snowflake--[\d.]+--$to\.sql$/ } @new_files),
	"the current build installed over it: @new_files");

# Before the restart the server still runs the library it preloaded: an
# update whose functions are new in the library fails, and changes nothing.
my ($rc, $out, $err) =
  $node->psql('postgres', 'ALTER EXTENSION snowflake UPDATE');
isnt($rc, 0, 'ALTER EXTENSION snowflake UPDATE before the restart fails');
like($err, qr/could not find function "snowflake_\w+" in file/,
	'... because the preloaded library is still the old one');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'"),
	$from, '... and the extension stays at the old version');

# ---- what the upgrade steps say: restart, then update -------------------
$node->restart;
$node->safe_psql('postgres', 'ALTER EXTENSION snowflake UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'"),
	$to, "ALTER EXTENSION snowflake UPDATE after the restart: version $to");

# The updated extension is the one a fresh install makes.
my $members = q{
	SELECT pg_describe_object(classid, objid, 0) FROM pg_depend
	WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'snowflake')
	ORDER BY 1};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION snowflake');
my $updated = $node->safe_psql('postgres', $members);
is($updated, $node->safe_psql('fresh', $members),
	'the updated extension has the objects of a fresh install');

# IDs continue above the earlier ones.
$node->safe_psql('postgres', 'INSERT INTO items (n) SELECT g FROM generate_series(1, 1000) g');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM items WHERE n <= 1000 AND id > $max_before"),
	'1000', 'every ID after the upgrade is above every ID before it');
is($node->safe_psql('postgres', 'SELECT state FROM snowflake_status()'),
	'ready', 'snowflake_status() after the upgrade: ready');

# Every function of the current version answers. Arguments by type; a type
# without one fails the test, so a new function cannot be left out.
$node->safe_psql('postgres', 'CREATE TABLE conv (id bigserial PRIMARY KEY)');
my %arg = (
	'bigint' => $max_before,
	'integer' => '3',
	'snowflake' => "'$max_before'::snowflake",
	'timestamp with time zone' => 'now()',
	'regclass' => "'conv'::regclass",
	'name' => "'id'::name",
	'boolean' => 'true',
	'cstring' => "'42'::cstring");
my @functions = split /\n/, $node->safe_psql(
	'postgres', q{
	SELECT format('%s|%s|%s|%s', p.oid::regprocedure, p.prokind, p.proname,
	              (SELECT string_agg(format_type(t, NULL), ',' ORDER BY i)
	               FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)))
	FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
	WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
	  AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'snowflake')
	ORDER BY 1});
cmp_ok(scalar @functions, '>', 10, scalar(@functions) . ' functions to call');
for my $f (@functions)
{
	my ($signature, $kind, $name, $types) = split /\|/, $f, 4;
	my @types = $types eq '' ? () : split /,/, $types;
	if (grep { $_ eq 'internal' } @types)
	{
		# Only the server calls these: snowflake_recv by COPY (FORMAT binary),
		# snowflake_sortsupport by a sort, both below.
		next;
	}
	my @missing = grep { !exists $arg{$_} } @types;
	if (@missing)
	{
		fail("$signature: no argument for type @missing (add one to this test)");
		next;
	}
	my $call = "$name(" . join(', ', map { $arg{$_} } @types) . ')';
	my $sql = $kind eq 'a' ? "SELECT $call" : "SELECT count(*) FROM $call AS r";
	my ($frc, $fout, $ferr) = $node->psql('postgres', $sql);
	# snowflake_fleet() needs etcd: its own error says the library answered.
	ok($frc == 0 || $ferr =~ /snowflake\.etcd_endpoints is not set/,
		"$signature answers after the upgrade")
	  or diag("$sql: $ferr");
}
my $copy = "$base/typed.copy";
$node->safe_psql(
	'postgres', qq{
	COPY typed TO '$copy' (FORMAT binary);
	CREATE TABLE typed_back (id snowflake);
	COPY typed_back FROM '$copy' (FORMAT binary);
});
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM (SELECT id FROM typed_back ORDER BY id) s
		 JOIN typed USING (id)'),
	'100',
	'snowflake_recv (COPY binary) and snowflake_sortsupport (a sort) answer');

$node->stop;
done_testing();
