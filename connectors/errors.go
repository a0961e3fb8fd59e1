package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel classes; every error a connector returns matches exactly one
// with errors.Is. The typed errors below carry details for errors.As.
var (
	ErrRateLimited = errors.New("rate limited")
	ErrUnavailable = errors.New("source unavailable")
	ErrAuthExpired = errors.New("authentication expired")
	ErrConflict    = errors.New("conflict: the source record changed")
	ErrNotFound    = errors.New("not found")
	ErrInvalid     = errors.New("invalid")
	ErrPermanent   = errors.New("permanent failure")
)

// RateLimitedError says how long to wait.
type RateLimitedError struct {
	RetryAfter time.Duration
	Msg        string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited (retry after %s): %s", e.RetryAfter, e.Msg)
}
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// ConflictError carries the source's current version.
type ConflictError struct {
	CurrentVersion string
	Msg            string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict (current version %s): %s", e.CurrentVersion, e.Msg)
}
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// InvalidError carries a message a customer can read and the vendor field.
type InvalidError struct {
	Field string
	Msg   string
	Code  string // vendor error code
}

func (e *InvalidError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg)
	}
	return "invalid: " + e.Msg
}
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Classified wraps an underlying error with one of the sentinel classes.
type Classified struct {
	Class error
	Err   error
	Code  string // vendor error code, when the source gave one
}

func (e *Classified) Error() string        { return e.Class.Error() + ": " + e.Err.Error() }
func (e *Classified) Unwrap() error        { return e.Err }
func (e *Classified) Is(target error) bool { return target == e.Class }

// Classify wraps err as class.
func Classify(class, err error) error {
	if err == nil {
		return nil
	}
	return &Classified{Class: class, Err: err}
}

// WithCode records the source's own error code on a classified error (an
// InvalidError or a Classified) that has none yet, so a code outside a
// connector's known list is not lost in the message text.
func WithCode(err error, code string) error {
	var ie *InvalidError
	var ce *Classified
	switch {
	case code == "":
	case errors.As(err, &ie):
		if ie.Code == "" {
			ie.Code = code
		}
	case errors.As(err, &ce):
		if ce.Code == "" {
			ce.Code = code
		}
	}
	return err
}

// Code returns the vendor error code err carries, if any.
func Code(err error) string {
	var ie *InvalidError
	var ce *Classified
	switch {
	case errors.As(err, &ie):
		return ie.Code
	case errors.As(err, &ce):
		return ce.Code
	}
	return ""
}

// FromStatus classifies an HTTP status for a response whose body named no
// more specific vendor error. retryAfter is the parsed Retry-After header.
func FromStatus(status int, retryAfter time.Duration, msg string) error {
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", status)
	}
	switch {
	case status == 429:
		return &RateLimitedError{RetryAfter: retryAfter, Msg: msg}
	case status == 401:
		return Classify(ErrAuthExpired, errors.New(msg))
	case status == 404 || status == 410:
		return Classify(ErrNotFound, errors.New(msg))
	case status == 409 || status == 412:
		return &ConflictError{Msg: msg}
	case status == 408 || status >= 500:
		return Classify(ErrUnavailable, errors.New(msg))
	case status >= 400:
		return &InvalidError{Msg: msg}
	}
	return Classify(ErrPermanent, fmt.Errorf("unexpected HTTP %d: %s", status, msg))
}
