"""Times make-backup requests from the POST until check-backup answers
backup-done, over one keep-alive connection, polling as fast as the server
answers.  Used by bench/backup/run.

    post_until_done.py HOST PORT ROUNDS [QUERY]
"""
import http.client
import statistics
import sys
import time


def main():
    host, port, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    query = sys.argv[4] if len(sys.argv) > 4 else ""
    conn = http.client.HTTPConnection(host, port, timeout=600)
    times, polls = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        conn.request("POST", "/make-backup" + query)
        r = conn.getresponse()
        backup_id = r.read().decode()
        if r.status != 200:
            sys.exit("make-backup: %d %s" % (r.status, backup_id))
        n, state = 0, "backup-in-progress"
        while state == "backup-in-progress":
            conn.request("GET", "/check-backup/" + backup_id)
            state = conn.getresponse().read().decode()
            n += 1
        elapsed = (time.perf_counter() - start) * 1000
        if state != "backup-done":
            sys.exit("backup %s: %s" % (backup_id, state))
        times.append(elapsed)
        polls.append(n)
        time.sleep(0.5)
    print("%.1f %.1f %.1f %d" % (statistics.median(times), max(times), min(times), statistics.median(polls)))


if __name__ == "__main__":
    main()
