package writeback_test

const childEnv = "PORTICO_WRITEBACK_CHILD"

func runChildWorker() int { return 2 }
