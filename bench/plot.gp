# bench/plot.gp: the chart bench/results/bench.png, four panels (gnuplot).
# Run by bench/report.sh with: datadir (CSV files written from the views
# bench_plot_* of bench/sql/report.sql), out (the PNG), heading.
#
# Owns: the look of the chart. Bars are medians; error bars are min and max
# (for ratios: the per-round ratios). Dashed lines are issue 4's targets.

set terminal pngcairo size 1600,1150 noenhanced font "sans,11"
set output out
set datafile separator ","
set datafile missing "NaN"

set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key below horizontal samplen 1.5 font ",10"
set xtics nomirror
set ytics nomirror
set offsets 0, 0, 0, 0

set multiplot layout 2,2 title heading font ",11"

# 1. pgbench
set title "1. pgbench -M prepared: TPS relative to SELECT 1 (same run, same clients)"
set ylabel "ratio to SELECT 1"
set yrange [0:1.2<*]
plot datadir."/pgbench.csv" using 2:3:4:xtic(1) title "snowflake_next_id()" lc rgb "#1f77b4", \
     "" using 5:6:7 title "nextval CACHE 1" lc rgb "#ff7f0e", \
     "" using 8:9:10 title "nextval CACHE 100" lc rgb "#2ca02c", \
     "" using 11:12:13 title "gen_random_uuid()" lc rgb "#9467bd", \
     0.97 with lines dt 2 lw 2 lc rgb "black" title "target 0.97"

# 2. bulk
set title "2./3. Bulk count(f()) over generate_series, biggest n (M IDs/s)"
set ylabel "million IDs per second"
set yrange [0:*]
set xtics rotate by 15 right font ",10"
plot datadir."/bulk.csv" using 2:3:4:xtic(1) title "one backend" lc rgb "#1f77b4", \
     "" using 5:6:7 title "two sessions together" lc rgb "#ff7f0e", \
     4.096 with lines lw 2 lc rgb "#d62728" title "cap 4.096M/s", \
     3.9 with lines dt 2 lw 2 lc rgb "black" title "target 3.9M/s"
set xtics norotate font ",11"

# 3. INSERT
set title "4. INSERT 1000 rows per statement: rows/s relative to client-supplied ids"
set ylabel "ratio to client-supplied ids"
set yrange [0:1.2<*]
plot datadir."/insert.csv" using 2:3:4:xtic(1) title "snowflake_next_id() default" lc rgb "#1f77b4", \
     "" using 5:6:7 title "bigserial" lc rgb "#ff7f0e", \
     "" using 8:9:10 title "gen_random_uuid() default" lc rgb "#9467bd", \
     0.98 with lines dt 2 lw 2 lc rgb "black" title "target 0.98"

# 4. core
set title "5. Core (Google Benchmark): ns per ID, log scale"
set ylabel "ns per ID"
set logscale y
set yrange [1:2000]
set xtics rotate by 15 right font ",10"
plot datadir."/core.csv" using 2:3:4:xtic(1) title "median (min-max)" lc rgb "#1f77b4", \
     244.140625 with lines lw 2 lc rgb "#d62728" title "cap: 244.14 ns/ID", \
     10 with lines dt 2 lw 2 lc rgb "black" title "target: step <= 10 ns"

unset multiplot
