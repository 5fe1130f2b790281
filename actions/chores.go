package actions

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Chore is periodic upkeep of another part of the app (the uninstall
// sweep, say) run by the runtime's durable jobs, as history pruning is:
// every Every, on one process at a time, and again at start-up. Run should
// finish within the job timeout and be safe to run twice.
type Chore struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// choreArgs is the periodic job of one chore, by name.
type choreArgs struct {
	Name string `json:"name"`
}

func (choreArgs) Kind() string { return "hubspot_actions.chore" }

func (choreArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: controlQueue, MaxAttempts: 3}
}

type choreWorker struct {
	river.WorkerDefaults[choreArgs]
	chores map[string]Chore
}

func (w *choreWorker) Work(ctx context.Context, job *river.Job[choreArgs]) error {
	c, ok := w.chores[job.Args.Name]
	if !ok {
		return nil // a chore an older or newer release had
	}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("chore %s: %w", c.Name, err)
	}
	return nil
}

// choreJobs registers the chores' worker and returns their periodic jobs.
func choreJobs(workers *river.Workers, chores []Chore) ([]*river.PeriodicJob, error) {
	w := &choreWorker{chores: map[string]Chore{}}
	var jobs []*river.PeriodicJob
	for _, c := range chores {
		if c.Name == "" || c.Every <= 0 || c.Run == nil {
			return nil, fmt.Errorf("actions: chore %q needs a name, a positive interval and a function", c.Name)
		}
		if _, dup := w.chores[c.Name]; dup {
			return nil, fmt.Errorf("actions: two chores named %q", c.Name)
		}
		w.chores[c.Name] = c
		name := c.Name
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(c.Every),
			func() (river.JobArgs, *river.InsertOpts) { return choreArgs{Name: name}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, fmt.Errorf("actions: add chore worker: %w", err)
	}
	return jobs, nil
}
