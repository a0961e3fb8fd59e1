//go:build !unix

package mappingbench

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
