"""Time: APScheduler as the alarm clock behind a leader lock, and the non-wall clocks."""
