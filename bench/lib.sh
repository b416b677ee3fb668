# Shared by bench/run.sh and bench/cgi.sh (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Reads `wrk --latency` output; prints "requests/s p99-ms transfer-MiB/s".
wrk_summary() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } p99 = v }
        /Transfer\/sec/ { t = $2; if (t ~ /GB$/) { sub(/GB$/, "", t); t *= 1024 } else if (t ~ /MB$/) { sub(/MB$/, "", t) } else if (t ~ /KB$/) { sub(/KB$/, "", t); t /= 1024 } mib = t }
        END { printf "%.0f %.2f %.1f\n", rps, p99, mib }'
}
