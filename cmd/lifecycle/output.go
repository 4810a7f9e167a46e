package lifecycle

import (
	"fmt"
	"io"
)

// say prints a line of the CLI's output. A terminal or pipe that fails is
// not worth failing a step for, so the error is dropped on purpose.
func say(w io.Writer, format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }

// sayln is say for fmt.Fprintln.
func sayln(w io.Writer, args ...any) { _, _ = fmt.Fprintln(w, args...) }

// progress prints a line for each thing whose state changed.
type progress struct {
	out  io.Writer
	seen map[string]string
	last string
}

func (p *progress) show(key, line string) {
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	p.last = line
	if p.seen[key] == line {
		return
	}
	p.seen[key] = line
	sayln(p.out, "  "+line)
}
