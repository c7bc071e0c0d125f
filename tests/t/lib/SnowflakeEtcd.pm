# SnowflakeEtcd: a real etcd cluster (Debian's etcd-server) for the TAP
# tests of node-id leases: members on loopback ports, run as the test's own
# (unprivileged) user, killed, frozen and restarted on demand, and stopped at
# the end.
#
#     my $etcd = SnowflakeEtcd->new($base_dir, 3);   members under $base_dir/etcd_<test>/
#     $etcd->endpoints            "http://127.0.0.1:p1,http://127.0.0.1:p2,..."
#     $etcd->kill_member(0)       kill -9, the member is gone
#     $etcd->start_member(0)      back, with its data directory
#     $etcd->freeze_member(1)     SIGSTOP: it accepts connections, answers nothing
#     $etcd->thaw_member(1)       SIGCONT
#     $etcd->stop                 every member (also at END)
package SnowflakeEtcd;

use strict;
use warnings;
use Carp;
use File::Basename ();
use File::Path ();
use IPC::Run;
use PostgreSQL::Test::Cluster;
use Time::HiRes qw(usleep time);

my @all;

sub new
{
	my ($class, $base_dir, $count) = @_;
	$count //= 3;
	# One directory per test file: prove runs every file with the same
	# tmp_check, and a member must not start on another test's data directory
	# (it would look for that cluster's peers).
	my $base = "$base_dir/etcd_" . File::Basename::basename($0, '.pl');
	File::Path::rmtree($base);
	File::Path::mkpath($base);
	my $self = bless { base => $base, members => [] }, $class;
	for my $i (0 .. $count - 1)
	{
		push @{ $self->{members} }, {
			name => "e$i",
			client => PostgreSQL::Test::Cluster::get_free_port(),
			peer => PostgreSQL::Test::Cluster::get_free_port(),
			dir => "$base/e$i" };
	}
	$self->{cluster} = join ',',
	  map { "$_->{name}=http://127.0.0.1:$_->{peer}" } @{ $self->{members} };
	# Known to END before any member starts: a member that fails to become
	# healthy is still stopped.
	push @all, $self;
	$self->start_member($_, 'new') for 0 .. $count - 1;
	$self->wait_healthy($_) for 0 .. $count - 1;
	return $self;
}

sub endpoints
{
	my ($self) = @_;
	return join ',', map { "http://127.0.0.1:$_->{client}" } @{ $self->{members} };
}

sub start_member
{
	my ($self, $i, $state) = @_;
	my $m = $self->{members}[$i];
	croak "etcd member $i is running" if $m->{handle};
	$m->{handle} = IPC::Run::start(
		[
			'etcd', '--name', $m->{name}, '--data-dir', $m->{dir},
			'--listen-client-urls', "http://127.0.0.1:$m->{client}",
			'--advertise-client-urls', "http://127.0.0.1:$m->{client}",
			'--listen-peer-urls', "http://127.0.0.1:$m->{peer}",
			'--initial-advertise-peer-urls', "http://127.0.0.1:$m->{peer}",
			'--initial-cluster', $self->{cluster},
			'--initial-cluster-state', $state // 'existing',
			'--initial-cluster-token', 'snowflake-test'
		],
		'>>', "$self->{base}/etcd_$m->{name}.log", '2>&1');
	$m->{pid} = $m->{handle}{KIDS}[0]{PID};
	return;
}

# Waits until member $i answers /health with its cluster healthy.
sub wait_healthy
{
	my ($self, $i, $timeout) = @_;
	$timeout //= 60;
	my $m = $self->{members}[$i];
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		return 1
		  if system("etcdctl --endpoints=http://127.0.0.1:$m->{client} "
			  . "--command-timeout=1s endpoint health >/dev/null 2>&1") == 0;
		usleep(100_000);
	}
	croak "etcd member $m->{name} did not become healthy; see $self->{base}/etcd_$m->{name}.log";
}

sub kill_member
{
	my ($self, $i) = @_;
	my $m = $self->{members}[$i];
	return unless $m->{handle};
	kill 'CONT', $m->{pid};
	$m->{handle}->kill_kill;
	eval { $m->{handle}->finish };
	delete $m->{handle};
	return;
}

sub freeze_member
{
	my ($self, $i) = @_;
	kill 'STOP', $self->{members}[$i]{pid};
	return;
}

sub thaw_member
{
	my ($self, $i) = @_;
	kill 'CONT', $self->{members}[$i]{pid};
	return;
}

sub member_count
{
	my ($self) = @_;
	return scalar @{ $self->{members} };
}

sub stop
{
	my ($self) = @_;
	for my $m (@{ $self->{members} })
	{
		next unless $m->{handle};
		kill 'CONT', $m->{pid};
		$m->{handle}->signal('TERM');
		eval { $m->{handle}->finish; 1 } or $m->{handle}->kill_kill;
		delete $m->{handle};
	}
	return;
}

END
{
	$_->stop for @all;
}

1;
