package controlplane

import (
	"net/http"
	"sync/atomic"

	"k8s.io/client-go/rest"
)

// Contact tells the Monitor at once when any request to the control plane
// gets an answer while the Monitor holds it unreachable (a watch of the
// caches reconnecting, a retried list), so that the gate reopens then rather
// than at the next probe, which backs off during an outage. While the
// control plane is reachable it does nothing but read one flag per request.
type Contact struct {
	armed atomic.Bool
	ch    chan struct{}
}

// NewContact returns a Contact that is not armed.
func NewContact() *Contact { return &Contact{ch: make(chan struct{}, 1)} }

// Wrap makes every client built from cfg report answers to c. Call it before
// any client is built from cfg.
func (c *Contact) Wrap(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return contactRoundTripper{next: rt, c: c} })
}

// arm makes the next answer wake the Monitor; disarm stops that.
func (c *Contact) arm() { c.armed.Store(true) }
func (c *Contact) disarm() {
	c.armed.Store(false)
	select { // a wake-up from the probe that found the control plane back
	case <-c.ch:
	default:
	}
}

// answered wakes the Monitor once per arming.
func (c *Contact) answered() {
	if c.armed.CompareAndSwap(true, false) {
		select {
		case c.ch <- struct{}{}:
		default:
		}
	}
}

// woken receives after an answer while armed; a nil Contact never wakes.
func (c *Contact) woken() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.ch
}

type contactRoundTripper struct {
	next http.RoundTripper
	c    *Contact
}

func (t contactRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode < http.StatusInternalServerError {
		t.c.answered()
	}
	return resp, err
}
