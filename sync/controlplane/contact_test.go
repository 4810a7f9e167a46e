package controlplane

import (
	"errors"
	"net/http"
	"testing"
)

type fixedRoundTripper struct {
	code int
	err  error
}

func (f fixedRoundTripper) RoundTrip(*http.Request) (*http.Response, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &http.Response{StatusCode: f.code, Body: http.NoBody}, nil
}

func TestContact(t *testing.T) {
	cases := map[string]struct {
		armed bool
		rt    fixedRoundTripper
		wake  bool
	}{
		"an answer while armed wakes": {armed: true, rt: fixedRoundTripper{code: http.StatusOK}, wake: true},
		"a refusal is an answer too":  {armed: true, rt: fixedRoundTripper{code: http.StatusForbidden}, wake: true},
		"a 503 is no answer":          {armed: true, rt: fixedRoundTripper{code: http.StatusServiceUnavailable}},
		"no connection is no answer":  {armed: true, rt: fixedRoundTripper{err: errors.New("connection refused")}},
		"while reachable, nothing":    {rt: fixedRoundTripper{code: http.StatusOK}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := NewContact()
			if tc.armed {
				c.arm()
			}
			req, _ := http.NewRequest(http.MethodGet, "https://cp.example/api", nil)
			for range 2 { // two answers, one wake-up
				resp, _ := contactRoundTripper{next: tc.rt, c: c}.RoundTrip(req)
				if resp != nil {
					_ = resp.Body.Close()
				}
			}
			woken := 0
			for len(c.woken()) > 0 {
				<-c.woken()
				woken++
			}
			if want := map[bool]int{true: 1}[tc.wake]; woken != want {
				t.Errorf("woke the Monitor %d times, want %d", woken, want)
			}
		})
	}
	var none *Contact
	if none.woken() != nil {
		t.Error("a nil Contact has a channel, want none (never wakes)")
	}
}
