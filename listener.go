package pgpipe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Listener receives notifications on a connection of its own and delivers
// them on a Go channel. When the connection fails it opens a new one,
// LISTENs again to every channel, and goes on; notifications sent while it
// was disconnected are lost (PostgreSQL keeps none for absent listeners),
// and ListenerOptions.OnReconnect tells the caller so.
//
//	l := pgpipe.NewListener(connector, pgpipe.ListenerOptions{})
//	defer l.Close()
//	if err := l.Listen(ctx, "jobs"); err != nil { ... }
//	for n := range l.Notifications() {
//		fmt.Println(n.Channel, n.Payload)
//	}
//
// Its methods may be called from any goroutine.
type Listener struct {
	cn   *Connector
	opts ListenerOptions
	out  chan Notification
	cmds chan listenCmd
	done chan struct{} // closed by Close
	exit chan struct{} // closed when the goroutine ended

	// mu guards the fields below; held for no I/O.
	mu       sync.Mutex
	channels map[string]bool // the channels to LISTEN to, also after a reconnect
	// wake interrupts the goroutine's wait for a notification; pending
	// counts commands on their way to it, so it never starts a wait while
	// one is waiting to be served.
	wake      context.CancelFunc
	pending   int
	connected bool
	closed    bool
	// changed is closed, and replaced, when the connection comes up, is
	// lost, or an attempt to open it fails; lastErr is why the last
	// attempt failed.
	changed chan struct{}
	lastErr error
}

// ListenerOptions tune a [Listener]; the zero value is usable.
type ListenerOptions struct {
	// Buffer is the capacity of the Notifications channel (default 64).
	// When it is full, the Listener waits for the reader.
	Buffer int
	// OnReconnect, when set, is called on the Listener's goroutine after a
	// lost connection was replaced and every channel is listened to again;
	// err says why the old one was lost.
	OnReconnect func(err error)
	// ReconnectDelay is the first wait before reconnecting (default
	// 100ms); it doubles after each failed attempt, up to 10s.
	ReconnectDelay time.Duration
}

type listenCmd struct {
	sql   string
	reply chan error
}

// NewListener returns a Listener that opens its connections with cn. Its
// goroutine starts now and runs until Close.
func NewListener(cn *Connector, opts ListenerOptions) *Listener {
	if opts.Buffer <= 0 {
		opts.Buffer = 64
	}
	if opts.ReconnectDelay <= 0 {
		opts.ReconnectDelay = 100 * time.Millisecond
	}
	l := &Listener{
		cn: cn, opts: opts,
		out:      make(chan Notification, opts.Buffer),
		cmds:     make(chan listenCmd),
		done:     make(chan struct{}),
		exit:     make(chan struct{}),
		channels: map[string]bool{},
		changed:  make(chan struct{}),
	}
	go l.run()
	return l
}

// Notifications is the channel the notifications arrive on. It is closed
// by Close.
func (l *Listener) Notifications() <-chan Notification { return l.out }

// Listen starts listening to channel (LISTEN). It returns once the server
// acknowledged the LISTEN, so a NOTIFY sent after it returns is delivered;
// while the Listener is (re)connecting, it waits for the connection. When
// ctx ends first it returns ctx's error (with the last connection error,
// if any), and when the server refused the role, its password or the
// database it returns that error at once; either way the channel stays
// recorded: it is listened to as soon as a connection is up. Listen may be
// called from the loop that reads Notifications. After a lost connection every recorded channel is
// listened to again.
func (l *Listener) Listen(ctx context.Context, channel string) error {
	return l.command(ctx, channel, true)
}

// Unlisten stops listening to channel (UNLISTEN). It returns once the
// server acknowledged it, waiting for a connection as Listen does; the
// channel is not listened to again after a reconnect either way.
func (l *Listener) Unlisten(ctx context.Context, channel string) error {
	return l.command(ctx, channel, false)
}

// errListenerClosed is returned by the methods of a closed Listener.
var errListenerClosed = errors.New("pgpipe: the Listener is closed")

func (l *Listener) command(ctx context.Context, channel string, listen bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errListenerClosed
	}
	if listen {
		l.channels[channel] = true
	} else {
		delete(l.channels, channel)
	}
	l.mu.Unlock()
	wake, err := l.awaitConnected(ctx)
	if err != nil {
		return err
	}
	sql := "LISTEN " + QuoteIdentifier(channel)
	if !listen {
		sql = "UNLISTEN " + QuoteIdentifier(channel)
	}
	cmd := listenCmd{sql: sql, reply: make(chan error, 1)}
	if wake != nil {
		wake()
	}
	select {
	case l.cmds <- cmd:
	case <-l.exit:
		return errListenerClosed
	case <-ctx.Done():
		l.mu.Lock()
		l.pending--
		l.mu.Unlock()
		return ctx.Err()
	}
	// Sent: the goroutine decremented pending.
	select {
	case err := <-cmd.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// awaitConnected waits until the Listener has a connection and counts a
// command on its way to it (pending). It returns the function that wakes
// the goroutine from its wait for notifications.
func (l *Listener) awaitConnected(ctx context.Context) (context.CancelFunc, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, errListenerClosed
		}
		if l.connected {
			l.pending++
			wake := l.wake
			l.mu.Unlock()
			return wake, nil
		}
		changed, lastErr := l.changed, l.lastErr
		l.mu.Unlock()
		if permanent(lastErr) {
			return nil, fmt.Errorf("pgpipe: the Listener cannot connect: %w", lastErr)
		}
		select {
		case <-changed:
		case <-l.exit:
			return nil, errListenerClosed
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("pgpipe: the Listener is not connected (last attempt: %v): %w", lastErr, ctx.Err())
			}
			return nil, ctx.Err()
		}
	}
}

// permanent reports a connection error that waiting does not cure: the
// server refused the role or its password (SQLSTATE class 28) or the
// database does not exist (3D000). The Listener still retries, in case an
// administrator fixes it.
func permanent(err error) bool {
	var pgErr *Error
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000")
}

// Close stops the Listener, closes its connection and the Notifications
// channel.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	wake := l.wake
	l.mu.Unlock()
	close(l.done)
	if wake != nil {
		wake()
	}
	<-l.exit
	return nil
}

// run is the Listener's goroutine: started by NewListener, stopped by
// Close; errors reach the caller through OnReconnect.
func (l *Listener) run() {
	defer close(l.exit)
	defer close(l.out)
	var lost error
	delay := l.opts.ReconnectDelay
	for {
		c, err := l.connect()
		if err != nil {
			l.mu.Lock()
			l.lastErr = err
			l.signal()
			l.mu.Unlock()
			if !l.sleep(delay) {
				return
			}
			delay = min(2*delay, 10*time.Second)
			lost = firstErr(lost, err)
			continue
		}
		delay = l.opts.ReconnectDelay
		if lost != nil && l.opts.OnReconnect != nil {
			l.opts.OnReconnect(lost)
		}
		l.setConnected(true)
		lost = l.serve(c)
		l.setConnected(false)
		_ = c.close()
		if lost == nil { // closed
			return
		}
	}
}

// setConnected records whether commands can reach the server now. Commands
// sent while disconnected are applied by connect.
func (l *Listener) setConnected(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connected == on {
		return
	}
	l.connected = on
	if on {
		l.lastErr = nil
	}
	l.signal()
}

// signal wakes the callers waiting for a connection; l.mu is held.
func (l *Listener) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// connect opens a connection and LISTENs to every recorded channel.
func (l *Listener) connect() (*core, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	c, err := connect(ctx, l.cn.cfg)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	chans := make([]string, 0, len(l.channels))
	for ch := range l.channels {
		chans = append(chans, ch)
	}
	l.mu.Unlock()
	for _, ch := range chans {
		if err := c.simpleInternal("LISTEN " + QuoteIdentifier(ch)); err != nil {
			_ = c.close()
			return nil, err
		}
	}
	return c, nil
}

// serve waits for notifications and commands on c until it fails (the
// error is returned) or the Listener is closed (nil).
func (l *Listener) serve(c *core) error {
	for {
		l.mu.Lock()
		pending := l.pending > 0
		ctx, cancel := context.WithCancel(context.Background())
		if !pending {
			l.wake = cancel
		}
		l.mu.Unlock()
		if pending {
			cancel()
			select {
			case <-l.done:
				return nil
			case <-time.After(100 * time.Millisecond):
				// The command's caller may have given up; look again.
			case cmd := <-l.cmds:
				if err := l.run1(c, cmd); err != nil {
					return err
				}
			}
			continue
		}
		select {
		case <-l.done:
			cancel()
			return nil
		default:
		}
		n, err := c.waitNotification(ctx)
		cancel()
		if err != nil {
			if c.broken != nil {
				return c.broken
			}
			continue // woken: a command or Close
		}
		if err := l.deliver(c, n); err != nil || l.isClosed() {
			return err
		}
	}
}

// deliver hands n to the Notifications channel. While the reader is
// behind, it still serves commands: a reader that calls Listen from its
// notification loop must not wait for itself. A nil error with the
// Listener closed ends serve.
func (l *Listener) deliver(c *core, n Notification) error {
	for {
		select {
		case l.out <- n:
			return nil
		case <-l.done:
			return nil
		case cmd := <-l.cmds:
			if err := l.run1(c, cmd); err != nil {
				return err
			}
		}
	}
}

// run1 runs one LISTEN or UNLISTEN command on c and answers its caller;
// the error is c's, when it broke.
func (l *Listener) run1(c *core, cmd listenCmd) error {
	l.mu.Lock()
	l.pending--
	l.mu.Unlock()
	cmd.reply <- c.simpleInternal(cmd.sql)
	return c.broken
}

// isClosed reports whether Close was called.
func (l *Listener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// sleep waits d, or returns false when the Listener is closed first.
func (l *Listener) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}
