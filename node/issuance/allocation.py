"""Status list entries for new credentials: allocated in short transactions, safe across
threads and API worker processes (one conditional `UPDATE ... RETURNING` per list).

A request reserves its entries before it builds its documents, so that building runs beside
the signing (node/issuance/service.py); a request that then stores nothing gives them back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from node.credentials.status_list import STATUS_SIZE, first_allocatable
from node.did.hosting import signing_identity
from node.store.db import Database
from node.store.models import Institution, StatusList

log = logging.getLogger(__name__)

#: Open the next list once a list is this full, so allocation never waits for one.
PREALLOCATE_AT = 0.9


@dataclass
class Reservation:
    """The status entries reserved for one request, in the order its credentials take them.

    `committing`: set by the request just before its storing transaction commits. From then on
    the entries are never given back, even if the commit fails: a commit whose answer was lost
    may have stored the credentials, and an entry given back would be handed out again.
    """

    slots: list[tuple[int, int]]
    committing: bool = False


class StatusAllocator:
    """Hands out (list number, index) slots of an institution's 2-bit status lists."""

    def __init__(self, db: Database, capacity: int) -> None:
        self.db = db
        self.capacity = capacity

    def allocate(self, institution: Institution, count: int) -> list[tuple[int, int]]:
        """Reserve `count` status entries, opening new lists as they fill.

        Each reservation is one conditional `UPDATE ... RETURNING` (the database adds to the
        counter only while the list has room), so concurrent issuers in threads or in several API
        processes can never receive the same index.
        """

        def reserve(session: Session) -> list[tuple[int, int]]:
            slots: list[tuple[int, int]] = []
            while len(slots) < count:
                list_id, number, capacity, used = self._list_with_room(session, institution)
                take = min(count - len(slots), capacity - used)
                claimed = session.execute(
                    update(StatusList)
                    .where(
                        col(StatusList.id) == list_id,
                        col(StatusList.next_index) + take <= col(StatusList.capacity),
                    )
                    .values(next_index=col(StatusList.next_index) + take)
                    .returning(col(StatusList.next_index))
                ).first()
                if claimed is None:
                    continue  # another issuer filled it meanwhile: look again
                end = int(claimed[0])
                slots.extend((number, index) for index in range(end - take, end))
                if end >= capacity * PREALLOCATE_AT:
                    self._ensure_list(session, institution, number + 1)
            return slots

        return self.db.retrying(reserve)

    @contextmanager
    def reserved(self, institution: Institution, count: int) -> Iterator[Reservation]:
        """`count` entries for a request in the block: given back if it fails before its
        commit (`give_back`)."""
        reservation = Reservation(self.allocate(institution, count))
        try:
            yield reservation
        except BaseException:
            if not reservation.committing:
                self.give_back(institution, reservation.slots)
            raise

    def give_back(self, institution: Institution, slots: Sequence[tuple[int, int]]) -> None:
        """Return the entries of a request that stored nothing, in each list where no later
        reservation followed them (a compare-and-set of the list's counter from the end of the
        run back to its start). Where one did, or the database cannot be reached, they stay
        unused, as after a crash: an entry is never handed out twice."""
        runs: dict[int, list[int]] = {}
        for number, index in slots:
            runs.setdefault(number, []).append(index)

        def give(session: Session) -> None:
            for number, indexes in runs.items():
                start, end = min(indexes), max(indexes) + 1
                if end - start != len(indexes):
                    continue  # not one run (never made by `allocate`): left as it is
                session.execute(
                    update(StatusList)
                    .where(
                        col(StatusList.institution_id) == institution.id,
                        col(StatusList.list_number) == number,
                        col(StatusList.next_index) == end,
                    )
                    .values(next_index=start)
                )

        try:
            self.db.retrying(give)
        except Exception as error:  # the request's own failure is what its caller must see
            log.warning("status entries of a failed request not given back (%s)", error)

    def _list_with_room(
        self, session: Session, institution: Institution
    ) -> tuple[int, int, int, int]:
        """(id, number, capacity, used) of the lowest 2-bit list with room, creating one if none
        (1-bit lists from before the message design are never allocated from again).

        Only lists signed under the DID the institution issues as now qualify: a verifier
        requires a credential and its status list to name the same issuer (docs/did-web.md).
        """
        issuer = signing_identity(institution).did
        query = (
            select(
                StatusList.id, StatusList.list_number, StatusList.capacity, StatusList.next_index
            )
            .where(
                StatusList.institution_id == institution.id,
                StatusList.status_size == STATUS_SIZE,
                col(StatusList.next_index) < col(StatusList.capacity),
                func.coalesce(col(StatusList.issuer), institution.did) == issuer,
            )
            .order_by(col(StatusList.list_number))
            .limit(1)
        )
        found = session.exec(query).first()
        if found is None:
            last = session.exec(
                select(StatusList.list_number)
                .where(StatusList.institution_id == institution.id)
                .order_by(col(StatusList.list_number).desc())
            ).first()
            self._ensure_list(session, institution, 0 if last is None else last + 1)
            found = session.exec(query).first()
        assert found is not None and found[0] is not None
        return found[0], found[1], found[2], found[3]

    def _ensure_list(self, session: Session, institution: Institution, number: int) -> None:
        exists = session.exec(
            select(StatusList.id).where(
                StatusList.institution_id == institution.id, StatusList.list_number == number
            )
        ).first()
        if exists is None:
            session.add(
                StatusList(
                    institution_id=institution.id,  # type: ignore[arg-type]
                    list_number=number,
                    capacity=self.capacity,
                    next_index=first_allocatable(self.capacity),
                    status_size=STATUS_SIZE,
                    issuer=signing_identity(institution).did,
                )
            )
            session.flush()
