# snowflake_advance_past() is durable before it returns: kill -9 of the
# postmaster right after it, and the restarted server still issues IDs above
# the floor. It goes through the reservation path (the state file holds a
# reserved_until at or past the floor's millisecond), and a second call with
# a lower ID changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SnowflakeTAP;
use Test::More;

my $node = snowflake_node('advance', 11);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my ($first) = next_ids($node, 1);

# A floor 5 s ahead of the clock (within the default 10 s drift bound): the
# reservation writer, which keeps 0.5 to 1.5 s ahead, would not have written
# it by itself.
my $floor = $node->safe_psql('postgres',
	q{SELECT snowflake_from_timestamp(clock_timestamp() + interval '5 s') + (1023 << 12) + 4095});
$node->safe_psql('postgres', "SELECT snowflake_advance_past($floor)");
my $state = read_state_file($node);
cmp_ok($state->{reserved_until_ms}, '>=', id_ms($floor),
	'the state file reserves the floor millisecond when the call returns');
kill9_postmaster($node);
$node->start;

my @after = next_ids($node, 100);
is(scalar(grep { $_ > $floor } @after), 100,
	'after kill -9 and restart, every ID is above the floor');
cmp_ok(id_ms($after[0]), '>', id_ms($floor), 'in a later millisecond than the floor');
is(strictly_increasing(\@after), -1, 'and increasing');

# A lower ID is no floor: nothing moves back.
$node->safe_psql('postgres', "SELECT snowflake_advance_past($first)");
my ($next) = next_ids($node, 1);
cmp_ok($next, '>', $after[-1], 'a lower floor changes nothing');

# The floor through the status view: reserved_until covers it.
is($node->safe_psql('postgres',
		"SELECT reserved_until >= snowflake_timestamp($floor) FROM snowflake_status()"),
	't', 'snowflake_status() shows the reservation past the floor');

$node->stop;
done_testing();
