#ifndef QN_VERSION_H
#define QN_VERSION_H
#define QUERN_VERSION "0.1.0"
#endif
