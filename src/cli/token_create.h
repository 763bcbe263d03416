/* `kubemcp token create SERVICEACCOUNT [-n NAMESPACE] [--duration 1h] [--audience A]… [-o json]`:
 * mints a service-account token through the TokenRequest API, like `kubectl create token`. */
#ifndef KUBEMCP_CLI_TOKEN_CREATE_H
#define KUBEMCP_CLI_TOKEN_CREATE_H

/* argv[0] is the program name, argv[1..] what follows `token create`. Returns the exit code:
 * 0 printed a token, 1 Kubernetes refused or could not be reached, 2 bad usage. */
int token_create_command(int argc, char **argv, char **envp);

#endif
