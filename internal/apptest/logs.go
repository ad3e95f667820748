package apptest

import (
	"bytes"
	"sync"
)

// LogBuffer collects a server's log lines for assertions (pass it as
// Options.Logs or to server.NewLogger). The server writes from its request
// goroutines, so every access is locked.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of everything written so far.
func (l *LogBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// String returns everything written so far.
func (l *LogBuffer) String() string { return string(l.Bytes()) }
