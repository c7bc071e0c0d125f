# bench/table_scale.gp: the chart bench/results/table_scale.png of section 12
# (the key at table scale), drawn by bench/report.sh with: datadir (ts_C_K.dat:
# "million rows inserted, thousand rows/s" per client count C and key K, from
# pgbench --progress; ts_bars.csv: per key, index MB and WAL bytes/row for each
# client count), out (the PNG), clients (the client counts, e.g. "1 4"),
# heading.
#
# Owns: the look of that chart. Keys K in this order (report.sh numbers them so).

set terminal pngcairo size 1600,1100 noenhanced font "sans,11"
set output out
set grid
set key below horizontal font ",10"
array title[6] = ["bigserial", "snowflake_next_id() bigint", "snowflake type", "UUIDv7", \
                  "UUIDv7 sub-ms", "gen_random_uuid()"]
array colour[6] = ["#ff7f0e", "#1f77b4", "#17becf", "#2ca02c", "#8c564b", "#9467bd"]
nc = words(clients)

set multiplot layout 2,2 title heading font ",11"

do for [j = 1:2] {
  if (j <= nc) {
    c = word(clients, j)
    set title sprintf("rows/s while the table grows, %s client%s (pgbench --progress; x: million rows inserted)", \
                      c, c eq "1" ? "" : "s")
    unset xlabel
    set ylabel "thousand rows per second"
    set yrange [0:*]
    set xrange [0:*]
    plot for [k = 1:6] sprintf("%s/ts_%s_%d.dat", datadir, c, k) using 1:2 with linespoints \
         pt 7 ps 0.5 lw 2 lc rgb colour[k] title title[k]
  } else {
    set multiplot next
  }
}

set datafile separator ","
set style data histogram
set style histogram clustered gap 2
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by 15 right font ",10"
unset xlabel
set xrange [*:*]
set key inside top left vertical

set title "primary key's size at the end, MB"
set ylabel "MB"
plot for [j = 1:nc] datadir."/ts_bars.csv" using (column(1 + 2 * j)):xtic(2) \
     title sprintf("%s client%s", word(clients, j), word(clients, j) eq "1" ? "" : "s")

set title "WAL bytes per row (full-page images included)"
set ylabel "bytes per row"
plot for [j = 1:nc] datadir."/ts_bars.csv" using (column(2 + 2 * j)):xtic(2) \
     title sprintf("%s client%s", word(clients, j), word(clients, j) eq "1" ? "" : "s")

unset multiplot
