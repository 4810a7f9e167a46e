package soak

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// config is what the environment asks of a run.
type config struct {
	// seed draws the schedule; the same seed draws the same schedule.
	seed uint64
	// ops is how many claim operations the schedule holds (faults come on top).
	ops int
	// report is the path of the markdown report; the JSON one is beside it.
	report string
	// converge bounds the wait for both clusters to agree after the last fault.
	converge time.Duration
	// rest is the window over which the connector must write nothing.
	rest time.Duration
	// maxClaims caps the live claims, so that Crossplane keeps up on 2 cores.
	maxClaims int
}

func configFromEnv() (config, error) {
	c := config{
		seed:      uint64(time.Now().UnixNano()),
		ops:       1000,
		report:    "soak-report.md",
		converge:  4 * time.Minute,
		rest:      30 * time.Second,
		maxClaims: 40,
	}
	var err error
	if s := os.Getenv("SOAK_SEED"); s != "" {
		if c.seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return c, fmt.Errorf("SOAK_SEED=%q: %w", s, err)
		}
	}
	if s := os.Getenv("SOAK_OPS"); s != "" {
		if c.ops, err = strconv.Atoi(s); err != nil || c.ops < 1 {
			return c, fmt.Errorf("SOAK_OPS=%q: want a positive number", s)
		}
	}
	if s := os.Getenv("SOAK_REPORT"); s != "" {
		c.report = s
	}
	for env, d := range map[string]*time.Duration{"SOAK_CONVERGE": &c.converge, "SOAK_REST": &c.rest} {
		if s := os.Getenv(env); s != "" {
			if *d, err = time.ParseDuration(s); err != nil {
				return c, fmt.Errorf("%s=%q: %w", env, s, err)
			}
		}
	}
	return c, nil
}
