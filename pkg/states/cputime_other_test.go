//go:build !unix

package states

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
