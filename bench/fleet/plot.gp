# bench/fleet/plot.gp: the chart bench/results/fleet.png (issue 17), two
# panels: the time until every server of a fleet started at once holds a
# node id, and the etcd requests per server that took, against the fleet's
# size, for the lease protocol before and after issue 17. Run by
# bench/report.sh with: data (columns: size, after s, before s, after
# requests, before requests; NaN where not measured), out, heading.
set terminal pngcairo size 1400,560 noenhanced font "sans,11"
set output out
set datafile missing "NaN"
set multiplot layout 1,2 title heading font ",11"
set logscale x 2
set xtics (32, 64, 128, 256, 512, 1024)
set xrange [24:1400]
set grid
set key top left
set xlabel "servers started at once"

set title "time until every server holds a distinct node id (a storm not finished: drawn at 300 s)"
set ylabel "seconds"
set logscale y 10
plot data using 1:3 with linespoints lw 2 pt 7 lc rgb "#d62728" title "before (releases up to 1.3)", \
     data using 1:2 with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "after (issue 17)"

set title "etcd requests per server for it (target: at most 4)"
set ylabel "requests per server"
plot data using 1:5 with linespoints lw 2 pt 7 lc rgb "#d62728" title "before", \
     data using 1:4 with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "after", \
     4 with lines dt 2 lc rgb "#555555" title "target"
unset multiplot
