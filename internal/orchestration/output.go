package orchestration

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store"
)

// flushEvery is how often a running unit's output is written to its log,
// where the API shows it live.
const flushEvery = 200 * time.Millisecond

// logOutput collects a unit's stdout and stderr as they arrive and writes
// them to its log every flushEvery, so staff watch a running script.
type logOutput struct {
	st      *store.Store
	logID   int
	secrets []string          // masked in what is stored
	mask    *strings.Replacer // built from secrets at the first flush

	mu       sync.Mutex
	out, err strings.Builder
	dirty    bool
	stopped  chan struct{}
}

func newLogOutput(st *store.Store, logID int, secrets []string) *logOutput {
	return &logOutput{st: st, logID: logID, secrets: secrets, stopped: make(chan struct{})}
}

type outWriter struct {
	o   *logOutput
	buf *strings.Builder
}

func (w outWriter) Write(b []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	if room := maxOutput - w.buf.Len(); room > 0 {
		if len(b) > room {
			w.buf.Write(b[:room])
			w.buf.WriteString("\n[output truncated]\n")
		} else {
			w.buf.Write(b)
		}
		w.o.dirty = true
	}
	return len(b), nil
}

func (o *logOutput) stdout() io.Writer { return outWriter{o, &o.out} }
func (o *logOutput) stderr() io.Writer { return outWriter{o, &o.err} }

func (o *logOutput) text() (string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mask == nil {
		if o.mask = masker(o.secrets); o.mask == nil {
			o.mask = strings.NewReplacer()
		}
	}
	return o.mask.Replace(o.out.String()), o.mask.Replace(o.err.String())
}

// start flushes until stop; the returned channel closes after the last
// flush (the final state update writes the complete output anyway).
func (o *logOutput) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-o.stopped:
				return
			case <-t.C:
			}
			o.mu.Lock()
			dirty := o.dirty
			o.dirty = false
			o.mu.Unlock()
			out, errOut := o.text()
			// a secret half written so far is not masked yet: hold it back
			out, errOut = withoutPartialSecret(out, o.secrets), withoutPartialSecret(errOut, o.secrets)
			if !dirty {
				continue
			}
			if err := o.st.ExecutionLog.UpdateOneID(o.logID).SetStdout(out).SetStderr(errOut).
				SetUpdatedAt(time.Now().UTC()).Exec(ctx); err != nil {
				slog.Warn("orchestration: live output", "log", o.logID, "err", err)
			}
		}
	}()
	return done
}

func (o *logOutput) stop() { close(o.stopped) }

// withoutPartialSecret cuts the end of text that is the start of a secret.
// Each suffix of text shorter than the longest secret is looked up among
// the sorted secrets, so a unit with thousands of them costs little per
// flush.
func withoutPartialSecret(text string, secrets []string) string {
	sorted := slices.Clone(secrets)
	slices.Sort(sorted)
	longest := 0
	for _, v := range sorted {
		longest = max(longest, len(v))
	}
	for k := min(longest-1, len(text)); k > 0; k-- {
		suffix := text[len(text)-k:]
		// the first secret not below suffix starts with it, if any does
		i, _ := slices.BinarySearch(sorted, suffix)
		for ; i < len(sorted) && strings.HasPrefix(sorted[i], suffix); i++ {
			if len(sorted[i]) > k {
				return text[:len(text)-k]
			}
		}
	}
	return text
}
