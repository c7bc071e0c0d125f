# snowflake_convert_column() on a table with data and foreign keys (one in
# another schema), while a client keeps inserting: the conversion waits for
# its lock and commits as one; the client's inserts before it get sequence
# values, those after it snowflake IDs above every old key; no row, key or
# reference is lost, and the foreign keys still hold.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SnowflakeTAP;
use Test::More;

my $node = snowflake_node('convert', 12);
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION snowflake;
CREATE SCHEMA billing;
CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE billing.invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts ON DELETE CASCADE, amount int);
CREATE TABLE events (account_id smallint REFERENCES accounts, what text);
INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20000) AS g;
INSERT INTO billing.invoices (account_id, amount)
  SELECT 1 + g % 20000, g FROM generate_series(1, 50000) AS g;
INSERT INTO events SELECT g, 'e' FROM generate_series(1, 30000) AS g WHERE g <= 20000;
});
my $digest_sql = q{SELECT md5(string_agg(id::text || name, ',' ORDER BY id)) FROM accounts
                   WHERE id <= 20000};
my $refs_sql = q{SELECT sum(account_id::bigint) FROM billing.invoices};
my $digest = $node->safe_psql('postgres', $digest_sql);
my $refs = $node->safe_psql('postgres', $refs_sql);

# The client inserts 3000 accounts, one statement at a time, 2 ms apart;
# the conversion starts once it has inserted 300.
my $client = start_client($node, 'writer',
	q{INSERT INTO accounts (name) VALUES ('during') RETURNING id; SELECT pg_sleep(0.002);}, 3000);
$node->poll_query_until('postgres', q{SELECT count(*) >= 300 FROM accounts WHERE name = 'during'})
  or die 'the writer did not start';
my $ddl = $node->safe_psql('postgres',
	q{SELECT string_agg(s, E'\n') FROM snowflake_convert_column('accounts', 'id', false) AS s});
like($ddl, qr/^LOCK TABLE public\.accounts IN ACCESS EXCLUSIVE MODE\n/, 'it locks the table first');
like($ddl, qr/ALTER TABLE billing\.invoices ALTER COLUMN account_id TYPE bigint/,
	'it widens the reference in the other schema');
like($ddl, qr/ALTER TABLE public\.events ALTER COLUMN account_id TYPE bigint/,
	'and the smallint reference');
like($ddl, qr/DROP SEQUENCE public\.accounts_id_seq$/, 'and drops the sequence last');
my @ids = finish_client($client);
ok(!$client->{exit}, 'the writer never failed') or diag($client->{err});
is($client->{err}, '', 'and printed no error');
is(scalar @ids, 3000, 'every insert of the writer returned an ID');
is(strictly_increasing(\@ids), -1, 'the writer saw increasing keys across the conversion');
my @old = grep { $_ <= 1_000_000 } @ids;
my @new = grep { $_ > 1_000_000 } @ids;
cmp_ok(scalar @new, '>', 0, 'inserts after the conversion got snowflake IDs');
is($node->safe_psql('postgres',
		'SELECT bool_and(snowflake_node_id(id) = 12) FROM accounts WHERE id > 1000000'),
	't', 'of this node');
note(scalar(@old) . ' inserts before, ' . scalar(@new) . ' after the conversion');

is($node->safe_psql('postgres', $digest_sql), $digest, 'the old keys and rows are unchanged');
is($node->safe_psql('postgres', $refs_sql), $refs, 'the references are unchanged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM accounts'), 20000 + 3000, 'no row lost');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM billing.invoices i LEFT JOIN accounts a ON a.id = i.account_id
	WHERE a.id IS NULL}), 0, 'every invoice still has its account');
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nINSERT INTO billing.invoices (account_id, amount) VALUES (999999999, 1)");
like($err, qr/23503/, 'the foreign key is still enforced');
$node->safe_psql('postgres', q{
	INSERT INTO billing.invoices (account_id, amount)
	SELECT id, 1 FROM accounts WHERE name = 'during' ORDER BY id DESC LIMIT 1});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM billing.invoices i JOIN accounts a ON a.id = i.account_id
	WHERE a.id > 1000000}), 1, 'a new account can be referenced');
is($node->safe_psql('postgres', q{
	SELECT string_agg(attrelid::regclass || '.' || attname || ' ' || atttypid::regtype, ', '
	                  ORDER BY attrelid::regclass::text)
	FROM pg_attribute WHERE attname IN ('id', 'account_id') AND attrelid IN
	  ('accounts'::regclass, 'billing.invoices'::regclass, 'events'::regclass)
	  AND NOT (attrelid = 'billing.invoices'::regclass AND attname = 'id')}),
	'accounts.id bigint, billing.invoices.account_id bigint, events.account_id bigint',
	'the key and both references are bigint');

$node->stop;
done_testing();
