package bench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/files/clamdtest"
	"github.com/porticohq/portico/internal/store"
)

// FilesConfig configures `portico bench files`.
type FilesConfig struct {
	Server Server
	// MB is the size of the file (MiB).
	MB int
	// Rounds are the timed transfers of each kind; the best is reported.
	Rounds int
	// Concurrent is how many uploads run at once for the memory figure.
	Concurrent int
	// Clamd is the clamd for the scan's cost: unix:/path or tcp:host:port,
	// "auto" to start Debian's clamd with the EICAR-only database (as the
	// tests do) when it is installed, "off" to skip the scan.
	Clamd string
	// CPUProfile, when set, receives a CPU profile of the timed uploads
	// through the file store (without the scan).
	CPUProfile string
	// Store is the file store measured: "postgres" (the default, chunks
	// in file_chunk) or "dir" (files.store: dir, in Dir or, when that is
	// empty, a temporary directory removed afterwards).
	Store string
	Dir   string
}

// Validate implements the bench command's check.
func (c FilesConfig) Validate() error {
	switch {
	case c.MB < 1 || c.MB > 1024:
		return usage("--mb must be between 1 and 1024; got %d", c.MB)
	case c.Rounds < 1:
		return usage("--rounds must be at least 1; got %d", c.Rounds)
	case c.Concurrent < 1:
		return usage("--concurrent must be at least 1; got %d", c.Concurrent)
	case c.Store != "" && c.Store != "postgres" && c.Store != "dir":
		return usage("--store must be postgres or dir; got %q", c.Store)
	}
	return nil
}

// RunFiles measures uploads and downloads of one file through
// files.Service behind net/http over loopback (the raw-body upload the API
// takes, stored as chunked bytea in PostgreSQL; the download read back
// chunk by chunk through http.ServeContent) against a plain io.Copy of
// the same bytes over loopback in the same run; the same file as a
// resumable upload through tusd and TusStore in the pages' 4 MiB PATCHes;
// the same bytes COPY'd from memory into file_chunk, what PostgreSQL
// itself takes (the upload's ceiling); then the same upload with the
// clamd scan; then the process's peak RSS above idle while Concurrent
// uploads run at once. The API's authentication and record check cost
// one request's worth, not per byte, and are left out.
func RunFiles(ctx context.Context, cfg FilesConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		size := int64(cfg.MB) << 20
		var blobs files.Blobs // nil: PostgreSQL
		if cfg.Store == "dir" {
			dir := cfg.Dir
			if dir == "" {
				tmp, err := os.MkdirTemp("", "portico-bench-files-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			d, err := files.NewDirBlobs(dir)
			if err != nil {
				return err
			}
			blobs = d
		}
		plain := files.New(files.Options{Pool: db.pool, MaxBytes: size + 1<<20, Blobs: blobs})
		var scanned *files.Service
		scanner, stop, note := openScanner(cfg.Clamd)
		if stop != nil {
			defer stop()
		}
		if scanner != nil {
			scanned = files.New(files.Options{Pool: db.pool, MaxBytes: size + 1<<20, Scanner: scanner, Blobs: blobs})
		}
		fmt.Fprintf(out.Stdout, "files: %d MiB file, best of %d rounds; scan: %s\n", cfg.MB, cfg.Rounds, note)

		srv, err := startFilesServer(db.pool, plain, scanned)
		if err != nil {
			return err
		}
		defer srv.close()

		baseUp, err := best(cfg.Rounds, func() (time.Duration, error) { return srv.upload("/copy", size) })
		if err != nil {
			return err
		}
		stopProfile, err := profileCPU(cfg.CPUProfile)
		if err != nil {
			return err
		}
		up, err := best(cfg.Rounds, func() (time.Duration, error) { return srv.upload("/upload", size) })
		stopProfile()
		if err != nil {
			return err
		}
		resumable, err := best(cfg.Rounds, func() (time.Duration, error) { return srv.resumable(size) })
		if err != nil {
			return err
		}
		// What PostgreSQL itself takes: the same bytes from memory, COPY'd
		// into file_chunk under a new file row in one transaction, without
		// HTTP, checks, hashing or scan: the ceiling of the upload.
		inMemory, _ := io.ReadAll(newContent(size))
		pgCopy, err := best(cfg.Rounds, func() (time.Duration, error) { return copyChunks(ctx, db.pool, inMemory) })
		if err != nil {
			return err
		}
		inMemory = nil
		id := srv.lastID.Load()
		if _, err := srv.download("/copy-out", size); err != nil { // makes the in-memory copy
			return err
		}
		baseDown, err := best(cfg.Rounds, func() (time.Duration, error) { return srv.download("/copy-out", size) })
		if err != nil {
			return err
		}
		down, err := best(cfg.Rounds, func() (time.Duration, error) {
			return srv.download("/download/"+strconv.FormatInt(id, 10), size)
		})
		if err != nil {
			return err
		}
		mbps := func(d time.Duration) float64 { return round(float64(size) / (1 << 20) / d.Seconds()) }
		fig := map[string]any{
			"bench": "files", "file_mb": cfg.MB, "store": cmp.Or(cfg.Store, "postgres"),
			"upload_mb_s": mbps(up), "upload_baseline_mb_s": mbps(baseUp), "upload_ratio": round(baseUp.Seconds() / up.Seconds()),
			"download_mb_s": mbps(down), "download_baseline_mb_s": mbps(baseDown), "download_ratio": round(baseDown.Seconds() / down.Seconds()),
		}
		fig["copy_mb_s"], fig["upload_vs_copy"] = mbps(pgCopy), round(pgCopy.Seconds()/up.Seconds())
		fig["copy_ratio"] = round(baseUp.Seconds() / pgCopy.Seconds())
		fmt.Fprintf(out.Stdout, "upload:   %7.1f MB/s  (io.Copy over loopback %7.1f MB/s)  ratio %.2f\n", mbps(up), mbps(baseUp), fig["upload_ratio"])
		fig["resumable_mb_s"], fig["resumable_ratio"] = mbps(resumable), round(baseUp.Seconds()/resumable.Seconds())
		fmt.Fprintf(out.Stdout, "resumable (tus, %d MiB PATCHes): %7.1f MB/s  ratio %.2f\n", resumablePiece>>20, mbps(resumable), fig["resumable_ratio"])
		fmt.Fprintf(out.Stdout, "          the bytes from memory COPY'd into file_chunk: %7.1f MB/s (ratio %.2f to io.Copy, the upload's ceiling); the upload reaches %.2f of it\n",
			mbps(pgCopy), fig["copy_ratio"], fig["upload_vs_copy"])
		fmt.Fprintf(out.Stdout, "download: %7.1f MB/s  (io.Copy over loopback %7.1f MB/s)  ratio %.2f\n", mbps(down), mbps(baseDown), fig["download_ratio"])
		fig["ratio"] = min(fig["upload_ratio"].(float64), fig["download_ratio"].(float64))

		if scanned != nil {
			withScan, err := best(cfg.Rounds, func() (time.Duration, error) { return srv.upload("/upload-scanned", size) })
			if err != nil {
				return err
			}
			fig["upload_scanned_mb_s"] = mbps(withScan)
			fig["scan_cost_ms"] = (withScan - up).Milliseconds()
			fig["scan_cost_pct"] = round(100 * (withScan.Seconds() - up.Seconds()) / up.Seconds())
			fmt.Fprintf(out.Stdout, "upload with the clamd scan: %7.1f MB/s  (+%d ms, +%.0f%%)\n", mbps(withScan), fig["scan_cost_ms"], fig["scan_cost_pct"])
		} else {
			fig["scan_cost_ms"] = nil
		}

		idle, peak, err := srv.concurrentRSS(cfg.Concurrent, size)
		if err != nil {
			return err
		}
		fig["concurrent_uploads"] = cfg.Concurrent
		fig["idle_rss_mb"] = round(float64(idle) / (1 << 20))
		fig["peak_rss_mb"] = round(float64(peak) / (1 << 20))
		fig["peak_rss_above_idle_mb"] = round(float64(peak-idle) / (1 << 20))
		fmt.Fprintf(out.Stdout, "%d concurrent %d MiB uploads: peak RSS %.1f MB, %.1f MB above idle (%.1f MB)\n",
			cfg.Concurrent, cfg.MB, fig["peak_rss_mb"], fig["peak_rss_above_idle_mb"], fig["idle_rss_mb"])
		return writeResult(out.Stdout, fig)
	})
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// best runs f rounds times and returns its shortest time.
func best(rounds int, f func() (time.Duration, error)) (time.Duration, error) {
	var out time.Duration
	for i := range rounds {
		d, err := f()
		if err != nil {
			return 0, err
		}
		if i == 0 || d < out {
			out = d
		}
	}
	return out, nil
}

// copyChunks stores data as a file's content the way PGBlobs does (a file
// row, then ChunkSize rows with one COPY, one transaction), from memory
// and without the upload's checks, and times it.
func copyChunks(ctx context.Context, pool *pgxpool.Pool, data []byte) (time.Duration, error) {
	start := time.Now()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		row, err := store.FileInsert(ctx, tx, store.FileInsertParams{TenantID: 1, StorageKey: "copy-" + strconv.FormatInt(start.UnixNano(), 10),
			Connection: "bench", Object: "case", RecordID: "500", OwnerAccount: "001", UploadedBy: "1", FileName: "copy.pdf",
			ContentType: "application/pdf", Origin: "upload"})
		if err != nil {
			return err
		}
		rest := data
		_, err = store.FileChunkCopy(ctx, tx, row.ID, 0, func() ([]byte, error) {
			if len(rest) == 0 {
				return nil, nil
			}
			k := min(len(rest), files.ChunkSize)
			chunk := rest[:k]
			rest = rest[k:]
			return chunk, nil
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bench: copying a file's chunks: %w", err)
	}
	return time.Since(start), nil
}

// openScanner is the clamd of the scan figure.
func openScanner(spec string) (files.Scanner, func(), string) {
	switch spec {
	case "off":
		return nil, nil, "off (--clamd off)"
	case "auto", "":
		bin := clamdtest.Binary()
		if _, err := os.Stat(bin); err != nil {
			return nil, nil, "not measured: " + bin + " is not installed (apt-get install clamav-daemon, or --clamd unix:/path)"
		}
		c, stop, err := clamdtest.Launch(bin)
		if err != nil {
			return nil, nil, "not measured: " + err.Error()
		}
		return c, stop, "clamd started with the EICAR-only database"
	}
	network, address, _ := strings.Cut(spec, ":")
	return files.Clamd{Network: network, Address: address}, nil, "clamd at " + spec
}

// content is a file of n bytes produced as it is read (a PDF header, then
// pseudo-random bytes), so the client holds none of it in memory.
type content struct {
	n, off int64
	rng    *rand.ChaCha8
}

var pdfHead = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n")

func newContent(n int64) *content { return &content{n: n, rng: rand.NewChaCha8([32]byte{7})} }

func (c *content) Read(p []byte) (int, error) {
	if c.off >= c.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.n-c.off)]
	k := 0
	if c.off < int64(len(pdfHead)) {
		k = copy(p, pdfHead[c.off:])
	}
	_, _ = c.rng.Read(p[k:])
	c.off += int64(len(p))
	return len(p), nil
}

// filesServer is net/http on loopback with the handlers measured.
type filesServer struct {
	url    string
	srv    *http.Server
	client *http.Client
	lastID atomic.Int64
}

func startFilesServer(pool *pgxpool.Pool, plain, scanned *files.Service) (*filesServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tus, err := resumableHandler(pool, plain)
	if err != nil {
		return nil, err
	}
	fs := &filesServer{url: "http://" + ln.Addr().String(), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /copy", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})
	// The download's baseline: the file's bytes from memory, io.Copy'd to
	// the connection (made once, outside the timing).
	var once sync.Once
	var inMemory []byte
	mux.HandleFunc("GET /copy-out", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		once.Do(func() { inMemory, _ = io.ReadAll(newContent(n)) })
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, bytes.NewReader(inMemory))
	})
	storeOn := func(svc *files.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f, err := svc.Store(r.Context(), files.Upload{TenantID: 1, Connection: "bench", Object: "case", RecordID: "500",
				OwnerAccount: "001", UploadedBy: "1", Name: "bench.pdf", DeclaredType: r.Header.Get("Content-Type"),
				DeclaredSize: r.ContentLength, Body: r.Body})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fs.lastID.Store(f.ID)
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /upload", storeOn(plain))
	if scanned != nil {
		mux.HandleFunc("POST /upload-scanned", storeOn(scanned))
	}
	mux.HandleFunc("GET /download/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f, err := plain.Get(r.Context(), store.Scope{TenantID: 1, Staff: true}, id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		rs, err := plain.Open(r.Context(), *f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if c, ok := rs.(io.Closer); ok {
			defer c.Close()
		}
		w.Header().Set("Content-Type", f.ContentType)
		http.ServeContent(w, r, "", f.CreatedAt, rs)
	})
	mux.Handle("/tus/", http.StripPrefix("/tus", tus))
	fs.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = fs.srv.Serve(ln) }()
	return fs, nil
}

func (fs *filesServer) close() { _ = fs.srv.Close() }

// upload posts a file of size bytes to path and times it.
func (fs *filesServer) upload(path string, size int64) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, fs.url+path, newContent(size))
	if err != nil {
		return 0, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/pdf")
	start := time.Now()
	res, err := fs.client.Do(req)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("bench: %s answered %d: %s", path, res.StatusCode, bytes.TrimSpace(body))
	}
	return time.Since(start), nil
}

// resumablePiece is the size of one PATCH of a resumable upload, as the
// portal's pages send it (portal.js).
const resumablePiece = 4 << 20

// resumableHandler is tusd over TusStore as the API serves it at
// /api/v1/uploads (without its authentication and record check): the
// creation names the record, the last PATCH completes the file.
func resumableHandler(pool *pgxpool.Pool, svc *files.Service) (http.Handler, error) {
	composer := tusd.NewStoreComposer()
	files.TusStore{Pool: pool}.UseIn(composer)
	return tusd.NewHandler(tusd.Config{
		StoreComposer: composer, BasePath: "/tus/", DisableDownload: true, DisableConcatenation: true,
		Cors:   &tusd.CorsConfig{Disable: true},
		Logger: xslog.New(xslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback: func(tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{Storage: map[string]string{
				files.TusTenant: "1", files.TusUser: "1", files.TusConnection: "bench", files.TusObject: "case", files.TusRecord: "500", files.TusOwner: "001",
			}}, nil
		},
		PreFinishResponseCallback: func(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
			if _, err := svc.Complete(hook.Context, hook.Upload.ID, "application/pdf"); err != nil {
				return tusd.HTTPResponse{}, err
			}
			return tusd.HTTPResponse{StatusCode: http.StatusOK}, nil
		},
	})
}

// resumable sends a file of size bytes as a resumable upload, PATCH by
// PATCH, and times it to the completed file.
func (fs *filesServer) resumable(size int64) (time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequest(http.MethodPost, fs.url+"/tus/", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte("bench.pdf")))
	res, err := fs.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusCreated || loc == "" {
		return 0, fmt.Errorf("bench: creating a resumable upload answered %d", res.StatusCode)
	}
	body := newContent(size)
	for off := int64(0); off < size; off += resumablePiece {
		n := min(resumablePiece, size-off)
		req, err := http.NewRequest(http.MethodPatch, loc, io.LimitReader(body, n))
		if err != nil {
			return 0, err
		}
		req.ContentLength = n
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		res, err := fs.client.Do(req)
		if err != nil {
			return 0, err
		}
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := http.StatusNoContent
		if off+n == size {
			want = http.StatusOK
		}
		if res.StatusCode != want {
			return 0, fmt.Errorf("bench: a resumable upload's PATCH at %d answered %d: %s", off, res.StatusCode, bytes.TrimSpace(msg))
		}
	}
	return time.Since(start), nil
}

// download reads path's size bytes and times it; the bytes must be the
// file's.
func (fs *filesServer) download(path string, size int64) (time.Duration, error) {
	start := time.Now()
	res, err := fs.client.Get(fs.url + path + "?n=" + strconv.FormatInt(size, 10))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	want := sha256.New()
	_, _ = io.Copy(want, newContent(size))
	if res.StatusCode != http.StatusOK || n != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		return 0, fmt.Errorf("bench: %s answered %d with %d bytes, not the file's %d", path, res.StatusCode, n, size)
	}
	return d, nil
}

// concurrentRSS runs n uploads at once and samples the process's RSS;
// it returns the RSS before (idle, after a GC) and the peak.
func (fs *filesServer) concurrentRSS(n int, size int64) (idle, peak int64, err error) {
	runtime.GC()
	debug.FreeOSMemory()
	if idle, err = rss(); err != nil {
		return 0, 0, err
	}
	peak = idle
	done := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if r, err := rss(); err == nil && r > peak {
				peak = r
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = fs.upload("/upload", size)
		}()
	}
	wg.Wait()
	close(done)
	sampler.Wait()
	return idle, peak, errors.Join(errs...)
}

// rss is the process's resident set size (Linux).
func rss() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("bench: reading the RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("bench: no VmRSS in /proc/self/status")
}
