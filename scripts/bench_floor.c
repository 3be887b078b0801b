/* The start-up floor for an idle run: connect to PostgreSQL with libpq, run `select 1`, exit.
 * Built and timed by scripts/bench beside process-jobs, against the same server and URL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *url = getenv("DATABASE_URL");
    PGconn *conn = PQconnectdb(url ? url : "");
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "floor: %s", PQerrorMessage(conn));
        return 1;
    }
    PGresult *result = PQexec(conn, "select 1");
    int ok = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
    PQfinish(conn);
    return ok ? 0 : 1;
}
