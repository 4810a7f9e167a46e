package harness

import (
	"context"
	"fmt"
	"time"
)

// pollInterval is how often Eventually and the start-up waits re-check.
const pollInterval = 50 * time.Millisecond

// Poll calls f every 50 ms until it returns nil, ctx is done or
// timeout has passed; the error then carries f's last error.
func Poll(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s (%v): %w", timeout, context.Cause(ctx), err)
		case <-ticker.C:
		}
	}
}
