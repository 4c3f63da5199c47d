use strict; use Digest::MD5 qw(md5_hex);
my %h; for my $i (0..59999) { $h{"k" . (($i * 7919) % 60013)} = [$i, "v" x ($i % 17), {n => $i % 89}]; }
my $ctx = Digest::MD5->new;
for my $k (sort { $h{$a}[2]{n} <=> $h{$b}[2]{n} or $a cmp $b } keys %h) { $ctx->add($k, $h{$k}[0], $h{$k}[1]); }
my @parts = map { join(",", reverse(1..($_ % 300))) } 1..3000; $ctx->add(join(";", @parts));
print scalar(keys %h), " ", $ctx->hexdigest, "\n";
