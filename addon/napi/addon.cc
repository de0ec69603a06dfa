// hull_addon.node: the few syscalls Node lacks. Surface typed in lib/native.ts.
// Errors are JS Errors with .code = errno name ('ESRCH', ...), .errno and .syscall.
#include <napi.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

namespace {

const char *ErrnoName(int err) {
  const char *name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}

Napi::Error ErrnoError(Napi::Env env, const char *syscall, int err) {
  std::string msg = std::string(syscall) + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

Napi::Value Throw(Napi::Env env, const char *syscall, int err) {
  ErrnoError(env, syscall, err).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char *what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IntArg(const Napi::CallbackInfo &info, size_t i, int64_t *out) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

Napi::Value StatusObject(Napi::Env env, int status) {
  Napi::Object o = Napi::Object::New(env);
  if (WIFEXITED(status)) {
    o.Set("code", Napi::Number::New(env, WEXITSTATUS(status)));
    o.Set("signal", env.Null());
  } else {
    o.Set("code", env.Null());
    o.Set("signal", Napi::Number::New(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  }
  return o;
}

Napi::Value Flock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!IntArg(info, 0, &fd) || info.Length() < 3 || !info[1].IsString() || !info[2].IsBoolean())
    return ThrowType(env, "flock(fd: number, op: 'sh'|'ex'|'un', nonblock: boolean)");
  std::string op = info[1].As<Napi::String>().Utf8Value();
  int how;
  if (op == "sh") how = LOCK_SH;
  else if (op == "ex") how = LOCK_EX;
  else if (op == "un") how = LOCK_UN;
  else return ThrowType(env, "flock: op must be 'sh', 'ex' or 'un'");
  bool nonblock = info[2].As<Napi::Boolean>().Value();
  if (nonblock) how |= LOCK_NB;
  // Blocking flock runs on the main thread by design: hull holds locks only around short
  // state-file updates, and the caller asked for blocking semantics.
  int r;
  do r = flock((int)fd, how); while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (nonblock && errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    return Throw(env, "flock", errno);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t pid;
  if (!IntArg(info, 0, &pid) || pid <= 0) return ThrowType(env, "pidfdOpen(pid: positive integer)");
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) return Throw(env, "pidfd_open", errno);
  return Napi::Number::New(env, (double)fd);
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd, sig;
  if (!IntArg(info, 0, &fd) || !IntArg(info, 1, &sig)) return ThrowType(env, "pidfdSendSignal(pidfd: number, signal: number)");
  if (syscall(SYS_pidfd_send_signal, (int)fd, (int)sig, nullptr, 0) < 0) return Throw(env, "pidfd_send_signal", errno);
  return env.Undefined();
}

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// A monotonic deadline timeoutMs from now; -1 (never) for a negative timeout.
int64_t DeadlineMs(int64_t timeout) {
  return timeout < 0 ? -1 : NowMs() + timeout;
}

// poll(fd, POLLIN) until the deadline (-1: none), retried on EINTR with the time left. poll's result
// (-1 with errno, 0 on timeout, 1 when ready); *revents gets the fd's revents.
int PollIn(int fd, int64_t deadline, short *revents) {
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int left = -1;
    if (deadline >= 0) {
      int64_t rem = deadline - NowMs();
      left = rem < 0 ? 0 : (rem > 0x7fffffff ? 0x7fffffff : (int)rem);
    }
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    *revents = p.revents;
    return r;
  }
}

Napi::Value PidfdWait(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd, timeout;
  if (!IntArg(info, 0, &fd) || !IntArg(info, 1, &timeout)) return ThrowType(env, "pidfdWait(pidfd: number, timeoutMs: number)");
  short revents = 0;
  int r = PollIn((int)fd, DeadlineMs(timeout), &revents);
  if (r < 0) return Throw(env, "poll", errno);
  if (revents & POLLNVAL) return Throw(env, "poll", EBADF);
  return Napi::Boolean::New(env, r > 0);
}

Napi::Value SetChildSubreaper(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return Throw(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
  return env.Undefined();
}

class WaitpidWorker : public Napi::AsyncWorker {
 public:
  WaitpidWorker(Napi::Env env, pid_t pid)
      : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int r;
    do r = waitpid(pid_, &status_, 0); while (r < 0 && errno == EINTR);
    if (r < 0) err_ = errno;
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) deferred_.Reject(ErrnoError(env, "waitpid", err_).Value());
    else deferred_.Resolve(StatusObject(env, status_));
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Waitpid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t pid;
  if (!IntArg(info, 0, &pid)) return ThrowType(env, "waitpid(pid: number)");
  auto *w = new WaitpidWorker(env, (pid_t)pid);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value WaitpidNoHang(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t pid;
  if (!IntArg(info, 0, &pid)) return ThrowType(env, "waitpidNoHang(pid: number)");
  int status = 0, r;
  do r = waitpid((pid_t)pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r < 0) return Throw(env, "waitpid", errno);
  if (r == 0) return env.Null();
  return StatusObject(env, status);
}

// unixListen(path): a listening AF_UNIX stream socket bound at path (O_CLOEXEC). The console
// socket hull hands the bootstrap when it relays a terminal itself.
Napi::Value UnixListen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "unixListen(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return Throw(env, "bind", ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Throw(env, "socket", errno);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 4) < 0) {
    int e = errno;
    close(s);
    return Throw(env, "bind", e);
  }
  return Napi::Number::New(env, s);
}

// recvFd(listenFd, timeoutMs): accept one connection and receive exactly one fd (SCM_RIGHTS,
// O_CLOEXEC) with its text payload, e.g. the pty master and "/dev/pts/N". Throws ETIMEDOUT when
// nobody connected in time, EPROTO when the message did not carry exactly one fd.
Napi::Value RecvFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t lfd, timeout;
  if (!IntArg(info, 0, &lfd) || !IntArg(info, 1, &timeout)) return ThrowType(env, "recvFd(listenFd: number, timeoutMs: number)");
  int64_t deadline = DeadlineMs(timeout);
  auto wait_in = [&](int fd) -> int {  // 0 when readable, else the errno (ETIMEDOUT at the deadline)
    short revents;
    int r = PollIn(fd, deadline, &revents);
    if (r < 0) return errno;
    return r == 0 ? ETIMEDOUT : 0;
  };
  int err = wait_in((int)lfd);
  if (err) return Throw(env, "accept", err);
  int conn;
  do conn = accept4((int)lfd, nullptr, nullptr, SOCK_CLOEXEC); while (conn < 0 && errno == EINTR);
  if (conn < 0) return Throw(env, "accept", errno);
  if ((err = wait_in(conn))) { close(conn); return Throw(env, "recvmsg", err); }
  char name[4096];
  union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } cbuf;
  memset(&cbuf, 0, sizeof cbuf);
  struct iovec iov = {name, sizeof name - 1};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf.buf;
  msg.msg_controllen = sizeof cbuf.buf;
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  int e = errno;
  close(conn);
  if (n < 0) return Throw(env, "recvmsg", e);
  int fds[4], nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k && nfds < 4; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC)) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    return Throw(env, "recvmsg", EPROTO);
  }
  name[n] = 0;
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", Napi::Number::New(env, fds[0]));
  o.Set("name", Napi::String::New(env, name, strnlen(name, (size_t)n)));
  return o;
}

// getWinsize(fd): {rows, cols} of a terminal, or null when fd is not one.
Napi::Value GetWinsize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!IntArg(info, 0, &fd)) return ThrowType(env, "getWinsize(fd: number)");
  struct winsize ws;
  if (ioctl((int)fd, TIOCGWINSZ, &ws) < 0) {
    if (errno == ENOTTY || errno == EBADF || errno == EINVAL) return env.Null();
    return Throw(env, "ioctl(TIOCGWINSZ)", errno);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", Napi::Number::New(env, ws.ws_row));
  o.Set("cols", Napi::Number::New(env, ws.ws_col));
  return o;
}

// setWinsize(fd, rows, cols): TIOCSWINSZ (the kernel then sends SIGWINCH to the foreground group).
Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd, rows, cols;
  if (!IntArg(info, 0, &fd) || !IntArg(info, 1, &rows) || !IntArg(info, 2, &cols) || rows < 0 || cols < 0 || rows > 0xffff || cols > 0xffff)
    return ThrowType(env, "setWinsize(fd: number, rows: 0..65535, cols: 0..65535)");
  struct winsize ws = {};
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl((int)fd, TIOCSWINSZ, &ws) < 0) return Throw(env, "ioctl(TIOCSWINSZ)", errno);
  return env.Undefined();
}

// makeRaw(fd): cfmakeraw on a terminal (as runc's console.SetRaw: no output post-processing either);
// returns the previous termios to hand back to restoreTermios, or null when fd is not a terminal.
Napi::Value MakeRaw(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!IntArg(info, 0, &fd)) return ThrowType(env, "makeRaw(fd: number)");
  struct termios old, raw;
  if (tcgetattr((int)fd, &old) < 0) {
    if (errno == ENOTTY || errno == EBADF) return env.Null();
    return Throw(env, "tcgetattr", errno);
  }
  raw = old;
  cfmakeraw(&raw);
  if (tcsetattr((int)fd, TCSANOW, &raw) < 0) return Throw(env, "tcsetattr", errno);
  return Napi::Buffer<char>::Copy(env, (const char *)&old, sizeof old);
}

// restoreTermios(fd, saved): put back what makeRaw returned.
Napi::Value RestoreTermios(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!IntArg(info, 0, &fd) || info.Length() < 2 || !info[1].IsBuffer()) return ThrowType(env, "restoreTermios(fd: number, saved: Buffer)");
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  if (b.Length() != sizeof(struct termios)) return ThrowType(env, "restoreTermios: not a saved termios");
  struct termios t;
  memcpy(&t, b.Data(), sizeof t);
  if (tcsetattr((int)fd, TCSANOW, &t) < 0) return Throw(env, "tcsetattr", errno);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("pidfdWait", Napi::Function::New(env, PidfdWait, "pidfdWait"));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper, "setChildSubreaper"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
  exports.Set("waitpidNoHang", Napi::Function::New(env, WaitpidNoHang, "waitpidNoHang"));
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("getWinsize", Napi::Function::New(env, GetWinsize, "getWinsize"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw, "makeRaw"));
  exports.Set("restoreTermios", Napi::Function::New(env, RestoreTermios, "restoreTermios"));
  return exports;
}

}  // namespace

NODE_API_MODULE(hull_addon, Init)
