# pg_dump and restore (plain and custom format) of a database keyed by
# bigint and snowflake IDs, into a server with the same node id and one with
# another. Types, defaults, operators, indexes and foreign keys come back,
# and new IDs are above the restored ones: after snowflake_advance_past(),
# which docs/backup-restore.md calls for, and which matters here
# because the source server's clock ran 120 s ahead of the targets'.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SnowflakeTAP;
use Test::More;

my $source = snowflake_node('source', 7);
# Far enough ahead that the restored IDs stay more than max_clock_drift
# (10 s) ahead of the targets' clocks however long the cases below take.
start_node($source, clock => '+120');
$source->safe_psql('postgres', 'CREATE DATABASE app');
$source->safe_psql('app', q{
CREATE EXTENSION snowflake;
CREATE TABLE customers (id snowflake PRIMARY KEY DEFAULT snowflake_next_id(), name text);
});
$source->safe_psql('app', q{
CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), note text);
CREATE TABLE lines (id snowflake PRIMARY KEY DEFAULT snowflake_next_id(),
                    customer_id bigint NOT NULL REFERENCES customers,
                    order_id snowflake REFERENCES orders);
CREATE INDEX lines_customer_id ON lines (customer_id);
INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 500) AS g;
INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 500) AS g;
INSERT INTO lines (customer_id, order_id)
  SELECT c.id, o.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers) AS c
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders) AS o USING (n);
});
# GREATEST of snowflake and bigint is a bigint.
my $max_sql = q{SELECT greatest((SELECT max(id) FROM customers), (SELECT max(id) FROM orders),
                                (SELECT max(id) FROM lines))};
my $source_max = $source->safe_psql('app', $max_sql);
my $digest_sql = q{SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
  SELECT 'c' || id::text || name AS t FROM customers UNION ALL
  SELECT 'o' || id::text || note FROM orders UNION ALL
  SELECT 'l' || id::text || customer_id::text || order_id::text FROM lines) AS s};
my $source_digest = $source->safe_psql('app', $digest_sql);

my $dir = PostgreSQL::Test::Utils::tempdir;
command_ok([ 'pg_dump', '-d', $source->connstr('app'), '-f', "$dir/app.sql" ],
	'pg_dump, plain format');
command_ok([ 'pg_dump', '-Fc', '-d', $source->connstr('app'), '-f', "$dir/app.dump" ],
	'pg_dump, custom format');
$source->stop;

my %targets = (
	'same node id, plain' => [ 7, 'plain' ],
	'other node id, custom' => [ 8, 'custom' ],);
for my $label (sort keys %targets)
{
	my ($node_id, $format) = @{ $targets{$label} };
	(my $name = $label) =~ s/\W+/_/g;
	my $target = snowflake_node($name, $node_id);
	$target->start;
	$target->safe_psql('postgres', 'CREATE DATABASE app');
	if ($format eq 'plain')
	{
		command_ok(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $target->connstr('app'),
			  '-f', "$dir/app.sql" ],
			"$label: psql restores the plain dump");
	}
	else
	{
		command_ok(
			[ 'pg_restore', '--exit-on-error', '-d', $target->connstr('app'), "$dir/app.dump" ],
			"$label: pg_restore restores the custom dump");
	}

	is($target->safe_psql('app', $digest_sql), $source_digest, "$label: every row came back");
	is($target->safe_psql('app',
			q{SELECT string_agg(c, '; ' ORDER BY c) FROM (
			    SELECT attrelid::regclass || '.' || attname || ' ' || atttypid::regtype
			      || ' ' || coalesce(pg_get_expr(adbin, adrelid), '-') AS c
			    FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
			    WHERE attrelid IN ('customers'::regclass, 'orders'::regclass, 'lines'::regclass)
			      AND attnum > 0 AND attname LIKE '%id') AS s}),
		'customers.id snowflake snowflake_next_id(); lines.customer_id bigint -; '
		  . 'lines.id snowflake snowflake_next_id(); lines.order_id snowflake -; '
		  . 'orders.id bigint snowflake_next_id()',
		"$label: column types and defaults came back");
	is($target->safe_psql('app',
			q{SELECT extversion, (SELECT count(*) FROM pg_operator
			    WHERE 'snowflake'::regtype IN (oprleft, oprright))
			  FROM pg_extension WHERE extname = 'snowflake'}),
		'1.3|30', "$label: the extension (1.3) with its 30 operators");
	is($target->safe_psql('app',
			q{SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname)
			  FROM pg_constraint WHERE conrelid = 'lines'::regclass AND contype IN ('f', 'p')}),
		'lines_customer_id_fkey:f,lines_order_id_fkey:f,lines_pkey:p',
		"$label: keys and foreign keys in both directions came back");
	my ($ret, $out, $err) = $target->psql('app',
		"\\set VERBOSITY verbose\nINSERT INTO lines (customer_id) VALUES (1)");
	like($err, qr/23503/, "$label: the bigint -> snowflake foreign key is enforced");
	my $plan = $target->safe_psql('app', q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT * FROM customers WHERE id = 42;
		EXPLAIN (COSTS OFF) SELECT * FROM lines WHERE customer_id = 42;});
	like($plan, qr/Index Scan using customers_pkey on customers/,
		"$label: the snowflake primary key index is used");
	like($plan, qr/Index Scan (using|on) lines_customer_id/,
		"$label: the bigint index is used");
	like($target->safe_psql('app',
			'SELECT row_to_json(c) FROM customers c ORDER BY id LIMIT 1'),
		qr/^\{"id":"\d+","name":"c1"\}$/, "$label: JSON renders the ID as a string");

	# A client that does not know the type: pgbench reads the text result
	# into a variable and does integer arithmetic on it (a wrong or rounded
	# value, or one it cannot parse, fails the transaction).
	my $id42 = $target->safe_psql('app', 'SELECT max(id) FROM customers');
	my $script = "$dir/$name.pgbench";
	open my $fh, '>', $script or die "cannot write $script: $!";
	print $fh "SELECT max(id) AS id FROM customers \\gset\n"
	  . "\\set next :id + 1\n"
	  . "SELECT CASE WHEN :next = $id42 + 1 THEN 1 ELSE 1 / 0 END;\n";
	close $fh;
	command_ok([ 'pgbench', '-n', '-t', '1', '-f', $script, '-d', $target->connstr('app') ],
		"$label: pgbench reads a snowflake column as the decimal digits of a bigint");

	# The source ran 120 s ahead: this server's next ID would be below the
	# restored ones (it is only looked at here, never stored).
	my $restored_max = $target->safe_psql('app', $max_sql);
	is($restored_max, $source_max, "$label: the greatest restored ID");
	is($target->safe_psql('app', "SELECT snowflake_next_id() < $restored_max"),
		't', "$label: without snowflake_advance_past, new IDs would be below the restored ones");
	# Up to 120 s ahead is more than snowflake.max_clock_drift (10 s) allows.
	($ret, $out, $err) = $target->psql('app',
		"\\set VERBOSITY verbose\nSELECT snowflake_advance_past(($max_sql))");
	like($err, qr/ERROR:  22023: snowflake_advance_past\(\d+\) would put IDs \d+ ms ahead/,
		"$label: advancing up to 120 s past the clock is refused by the drift bound");
	$target->safe_psql('postgres',
		"ALTER SYSTEM SET snowflake.max_clock_drift = '180s'; SELECT pg_reload_conf()");
	$target->poll_query_until('postgres', q{SELECT current_setting('snowflake.max_clock_drift') = '3min'})
	  or die 'reload did not take effect';
	$target->safe_psql('app', "SELECT snowflake_advance_past(($max_sql))");
	my @new = split /\n/, $target->safe_psql('app', q{
		INSERT INTO customers (name) VALUES ('new') RETURNING id;
		INSERT INTO orders (note) VALUES ('new') RETURNING id;
		SELECT snowflake_next_ids(3);});
	is(scalar @new, 5, "$label: five new IDs");
	is(scalar(grep { $_ > $restored_max } @new), 5,
		"$label: after snowflake_advance_past, every new ID is above the restored ones");
	is($target->safe_psql('app', "SELECT bool_and(snowflake_node_id(id) = $node_id)
			FROM customers WHERE name = 'new'"), 't', "$label: new IDs carry this node id");
	$target->stop;
}

done_testing();
