/*
 * reservation_worker.h: registers the background worker that writes
 * reservations ahead of need (see reservation_worker.cpp).
 */
#ifndef SNOWFLAKE_PG_RESERVATION_WORKER_H
#define SNOWFLAKE_PG_RESERVATION_WORKER_H

void RegisterReservationWorker();

#endif /* SNOWFLAKE_PG_RESERVATION_WORKER_H */
