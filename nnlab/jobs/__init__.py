"""The job manager and the executors behind one protocol (thread, process, ray/)."""
